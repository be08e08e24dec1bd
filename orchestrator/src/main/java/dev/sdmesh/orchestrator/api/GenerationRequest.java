package dev.sdmesh.orchestrator.api;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.Map;

/**
 * A validated generation request (Kafka record, REST body or gRPC message, all mapped to the same JSON). A null field
 * is unset and takes its configured default when the pipeline resolves the request; see {@link RequestParser} for the
 * limits and {@code proto/src/main/jsonschema/generation-request.schema.json} for the published schema.
 *
 * @param seed unsigned 64-bit seed stored in a long's bits; null = random
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GenerationRequest(
        String requestId,
        String model,
        String prompt,
        String negativePrompt,
        String promptSyntax,
        Long seed,
        Integer steps,
        Double guidanceScale,
        String scheduler,
        Map<String, String> schedulerOptions,
        Integer width,
        Integer height,
        Integer batchSize,
        Integer clipSkip,
        Double strength,
        String initImage,
        String mask,
        Integer previewEvery,
        Boolean returnLatents,
        Integer priority,
        Map<String, String> metadata) {

    public static final String SYNTAX_A1111 = "a1111";
    public static final String SYNTAX_NONE = "none";

    public GenerationRequest {
        schedulerOptions = schedulerOptions == null ? Map.of() : Map.copyOf(schedulerOptions);
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }

    public boolean isImg2Img() {
        return initImage != null && !initImage.isEmpty();
    }

    public boolean isInpaint() {
        return isImg2Img() && mask != null && !mask.isEmpty();
    }

    public boolean wantsLatents() {
        return Boolean.TRUE.equals(returnLatents);
    }
}
