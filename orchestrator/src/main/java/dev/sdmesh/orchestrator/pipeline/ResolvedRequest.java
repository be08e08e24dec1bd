package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.orchestrator.api.GenerationRequest;

import java.util.concurrent.ThreadLocalRandom;

/**
 * A request with every default applied and its random seed drawn: exactly what runs, and what the infotext reports.
 *
 * @param seed      unsigned 64-bit seed in a long's bits
 * @param scheduler the requested scheduler, or the model's own
 * @param strength  img2img/inpaint strength (A1111's default 0.75 when unset), null for txt2img
 */
public record ResolvedRequest(GenerationRequest request, String model, long seed, int steps, double guidanceScale,
                              String scheduler, int width, int height, int batchSize, int clipSkip, Double strength,
                              int previewEvery, String promptSyntax) {
    /** diffusers' img2img default strength is 0.8, A1111's 0.75; the API follows A1111. */
    public static final double DEFAULT_STRENGTH = 0.75;

    public static ResolvedRequest resolve(GenerationRequest r, ModelCatalog.ModelInfo model, GenerationDefaults defaults) {
        // A1111 draws seeds in [0, 2^32 - 2]; the same range keeps infotexts reusable in A1111.
        long seed = r.seed() != null ? r.seed() : ThreadLocalRandom.current().nextLong(4294967294L);
        int size = model.defaultSize();
        return new ResolvedRequest(r, model.id(), seed,
                r.steps() != null ? r.steps() : defaults.steps(),
                r.guidanceScale() != null ? r.guidanceScale() : defaults.guidanceScale(),
                r.scheduler() != null ? r.scheduler() : model.scheduler(),
                r.width() != null ? r.width() : size,
                r.height() != null ? r.height() : size,
                r.batchSize() != null ? r.batchSize() : defaults.batchSize(),
                r.clipSkip() != null ? r.clipSkip() : 0,
                r.isImg2Img() ? (r.strength() != null ? r.strength() : DEFAULT_STRENGTH) : null,
                r.previewEvery() != null ? r.previewEvery() : 0,
                r.promptSyntax() != null ? r.promptSyntax() : defaults.promptSyntax());
    }

    public String seedText() {
        return Long.toUnsignedString(seed);
    }

    public String prompt() {
        return request.prompt() == null ? "" : request.prompt();
    }

    public String negativePrompt() {
        return request.negativePrompt() == null ? "" : request.negativePrompt();
    }

    public String infotext(String sampler) {
        return Infotext.build(prompt(), negativePrompt(), steps, sampler, guidanceScale, seedText(), width, height, model,
                strength, clipSkip);
    }
}
