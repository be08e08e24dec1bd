package dev.sdmesh.textencoder.grpc;

import dev.sdmesh.proto.v1.EncodeRequest;
import dev.sdmesh.proto.v1.EncodeResponse;
import dev.sdmesh.proto.v1.PromptSyntax;
import dev.sdmesh.proto.v1.TokenChunk;
import dev.sdmesh.proto.v1.TokenizeRequest;
import dev.sdmesh.proto.v1.TokenizeResponse;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import dev.sdmesh.runtime.tensor.TensorCodec;
import dev.sdmesh.textencoder.pipeline.PromptEncoder;
import dev.sdmesh.textencoder.prompt.PromptChunker.Chunk;
import dev.sdmesh.textencoder.prompt.PromptChunker.Mode;
import dev.sdmesh.textencoder.service.PromptLimits;
import dev.sdmesh.textencoder.service.TextEncoderModels;

import java.util.Collections;
import java.util.List;

/** Checks the text encoder's requests against the limits and maps them to and from the domain types. */
public final class EncodeRequestMapper {
    private final PromptLimits limits;

    public EncodeRequestMapper(PromptLimits limits) {
        this.limits = limits;
    }

    public PromptEncoder.Request toRequest(EncodeRequest request, TextEncoderModels.Loaded model) {
        Mode mode = mode(request.getPromptSyntax(), request.getPromptSyntaxValue(), "prompt_syntax");
        List<String> prompts = request.getPromptsList();
        limits.checkPrompts("prompts", prompts, model.chunker(), mode);
        List<String> negatives = null;
        if (request.getIncludeUnconditional()) {
            List<String> given = request.getNegativePromptsList();
            for (int i = 0; i < given.size(); i++) limits.checkPrompt("negative_prompts[" + i + "]", given.get(i), model.chunker(), mode);
            negatives = negativesPerPrompt(given, prompts.size());
        }
        // uint32 on the wire: a value over 2^31 arrives negative.
        if (request.getClipSkip() < 0) {
            throw new InvalidFieldException("clip_skip", Integer.toUnsignedString(request.getClipSkip()) + " is not a layer count");
        }
        // 0 (unset) and 1 both mean the last layer.
        int clipSkip = Math.max(1, request.getClipSkip());
        return new PromptEncoder.Request(prompts, negatives, request.getIncludeUnconditional(), mode, clipSkip);
    }

    /** None (null: "" for each, as diffusers), one for all prompts, or one per prompt. */
    private static List<String> negativesPerPrompt(List<String> given, int prompts) {
        if (given.isEmpty()) return null;
        if (given.size() == 1) return Collections.nCopies(prompts, given.get(0));
        if (given.size() == prompts) return given;
        throw new InvalidFieldException("negative_prompts", given.size() + " negative prompts for " + prompts
                + " prompts; give none, one for all, or one per prompt");
    }

    /** @param rowLength the tokenizer's row length (77), to report the chunk count */
    public static EncodeResponse toResponse(PromptEncoder.Encoded encoded, int rowLength) {
        long[] shape = {encoded.batch(), encoded.sequenceLength(), encoded.hiddenSize()};
        EncodeResponse.Builder response = EncodeResponse.newBuilder()
                .setCondEmbeddings(TensorCodec.floats(encoded.cond(), shape))
                .setChunks(encoded.sequenceLength() / rowLength)
                .addAllWarnings(encoded.warnings());
        if (encoded.uncond() != null) response.setUncondEmbeddings(TensorCodec.floats(encoded.uncond(), shape));
        if (encoded.pooledCond() != null) {
            response.setCondPooled(TensorCodec.floats(encoded.pooledCond(), encoded.batch(), encoded.hiddenSize()));
        }
        if (encoded.pooledUncond() != null) {
            response.setUncondPooled(TensorCodec.floats(encoded.pooledUncond(), encoded.batch(), encoded.hiddenSize()));
        }
        for (int count : encoded.condTokenCounts()) response.addTokenCounts(count);
        return response.build();
    }

    /** The prompt's BPE tokens, its full id sequence, and the encoder rows its syntax mode gives. */
    public TokenizeResponse tokenize(TokenizeRequest request, TextEncoderModels.Loaded model) {
        Mode mode = mode(request.getPromptSyntax(), request.getPromptSyntaxValue(), "prompt_syntax");
        String prompt = request.getPrompt();
        limits.checkPrompt("prompt", prompt, model.chunker(), mode);
        TokenizeResponse.Builder response = TokenizeResponse.newBuilder()
                .addAllTokens(model.tokenizer().tokenize(prompt));
        for (int id : model.tokenizer().idsRaw(prompt)) response.addIds(id);
        for (Chunk chunk : model.chunker().chunk(prompt, mode).chunks()) {
            TokenChunk.Builder row = TokenChunk.newBuilder();
            for (int id : chunk.tokens()) row.addIds(id);
            for (float weight : chunk.multipliers()) row.addWeights(weight);
            response.addChunks(row);
        }
        return response.build();
    }

    private static Mode mode(PromptSyntax syntax, int wireValue, String field) {
        return switch (syntax) {
            case PROMPT_SYNTAX_UNSPECIFIED, A1111 -> Mode.A1111;
            case NONE -> Mode.NONE;
            case UNRECOGNIZED -> throw new InvalidFieldException(field, wireValue + " is not a PromptSyntax");
        };
    }
}
