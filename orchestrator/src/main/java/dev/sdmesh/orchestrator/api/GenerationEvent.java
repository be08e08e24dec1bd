package dev.sdmesh.orchestrator.api;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;
import java.util.Map;

/**
 * One record on {@code sdmesh.generation.events} (key: requestId), as described by {@code generation-event.schema.json}.
 * Only the fields of its {@link #type()} are set.
 *
 * @param time      epoch milliseconds when the event was made
 * @param preview   on some progress events (when the request set previewEvery): a small base64 PNG of the current
 *                  latents, one pixel per latent pixel
 * @param timingsMs per-stage wall time (textEncoder, vaeEncode, unet, vae, storage, total)
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record GenerationEvent(
        String type,
        String requestId,
        long time,
        Integer step,
        Integer total,
        String preview,
        List<ImageRef> images,
        List<String> seeds,
        Map<String, Long> timingsMs,
        String infotext,
        Error error,
        Map<String, String> metadata) {

    public static final String ACCEPTED = "accepted";
    public static final String PROGRESS = "progress";
    public static final String COMPLETED = "completed";
    public static final String FAILED = "failed";
    public static final String CANCELLED = "cancelled";

    /**
     * One stored image.
     *
     * @param seed        the seed as an unsigned decimal string (JSON numbers lose precision above 2^53)
     * @param latentsKey  key of the final latents ({@code .npy}) when the request asked for them
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ImageRef(int index, String key, String url, String seed, String latentsKey, String latentsUrl) {
    }

    /** Why a generation failed: a stable code, a message, and the request field at fault when there is one. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Error(String code, String message, String field) {
    }

    public boolean terminal() {
        return COMPLETED.equals(type) || FAILED.equals(type) || CANCELLED.equals(type);
    }

    public static GenerationEvent accepted(String requestId, Map<String, String> metadata) {
        return new GenerationEvent(ACCEPTED, requestId, System.currentTimeMillis(), null, null, null, null, null, null, null, null, metadata);
    }

    /** @param preview base64 PNG, or null */
    public static GenerationEvent progress(String requestId, int step, int total, String preview, Map<String, String> metadata) {
        return new GenerationEvent(PROGRESS, requestId, System.currentTimeMillis(), step, total, preview, null, null, null, null, null, metadata);
    }

    public static GenerationEvent completed(String requestId, List<ImageRef> images, Map<String, Long> timingsMs,
                                            String infotext, Map<String, String> metadata) {
        List<String> seeds = images.stream().map(ImageRef::seed).toList();
        return new GenerationEvent(COMPLETED, requestId, System.currentTimeMillis(), null, null, null, images, seeds, timingsMs,
                infotext, null, metadata);
    }

    public static GenerationEvent failed(String requestId, Error error, Map<String, String> metadata) {
        return new GenerationEvent(FAILED, requestId, System.currentTimeMillis(), null, null, null, null, null, null, null, error, metadata);
    }

    public static GenerationEvent cancelled(String requestId, Map<String, String> metadata) {
        return new GenerationEvent(CANCELLED, requestId, System.currentTimeMillis(), null, null, null, null, null, null, null, null, metadata);
    }

    /** The same event with a fresh time, for re-emitting a redelivered request's terminal event. */
    public GenerationEvent reemitted() {
        return new GenerationEvent(type, requestId, System.currentTimeMillis(), step, total, preview, images, seeds, timingsMs,
                infotext, error, metadata);
    }
}
