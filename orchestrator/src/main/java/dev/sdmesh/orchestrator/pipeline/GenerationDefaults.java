package dev.sdmesh.orchestrator.pipeline;

/**
 * Configured values for the request fields a request leaves unset (diffusers/A1111-like: 20 steps, guidance 7.5,
 * batch 1). Width and height default to the model's UNet {@code sample_size * 8}; the scheduler to the model's own.
 */
public record GenerationDefaults(int steps, double guidanceScale, int batchSize, String promptSyntax) {
    public static final GenerationDefaults STANDARD = new GenerationDefaults(20, 7.5, 1, "a1111");
}
