package dev.sdmesh.unet.pipeline;

/** Receives a run's progress on the engine's thread; must return quickly. */
public interface DenoiseListener {
    /** After every UNet call. */
    void progress(int completedCalls, int totalCalls, long elapsedMillis);

    /** Every {@code previewEvery} calls: the current latents [B, C, h, w]. */
    default void preview(int completedCalls, float[] latents) {
    }
}
