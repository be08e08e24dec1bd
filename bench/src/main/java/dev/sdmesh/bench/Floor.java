package dev.sdmesh.bench;

/**
 * Raw in-process ONNX Runtime {@code run} times of one model at one size: what the mesh cannot go below.
 *
 * @param textEncoder one run of the prompt and the negative prompt together (batch 2, as text-encoder-svc runs them)
 * @param unetBatch1  one UNet call on one latent (no guidance)
 * @param unetBatch2  one UNet call on the cond and uncond latents of one image (guidance)
 * @param vaeDecode   one VAE decoder run on one latent
 */
public record Floor(String model, int width, int height, String provider, Summary textEncoder, Summary unetBatch1,
                    Summary unetBatch2, Summary vaeDecode) {

    /**
     * Milliseconds the same work as one request takes at the floor: the text encoder, {@code steps} UNet calls and one
     * decode (medians).
     *
     * @param guidance whether the request uses classifier-free guidance (one batch-2 call per step instead of batch 1)
     */
    public double requestMs(int steps, boolean guidance) {
        double unet = guidance ? unetBatch2.median() : unetBatch1.median();
        return textEncoder.median() + steps * unet + vaeDecode.median();
    }
}
