package dev.sdmesh.unet.pipeline;

import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.unet.scheduler.Scheduler;

/**
 * One validated denoising request in plain Java types. Arrays are float32 NCHW, flattened row-major.
 *
 * @param batch              images in the request (B)
 * @param latentHeight       height / 8
 * @param latentWidth        width / 8
 * @param cond               conditional embeddings [B, seq, hidden]
 * @param uncond             unconditional embeddings [B, seq, hidden]; null without guidance
 * @param sequenceLength     seq
 * @param scheduler          a fresh scheduler configured for this request
 * @param steps              num_inference_steps
 * @param guidanceScale      CFG scale; guidance is applied only above 1, as diffusers does
 * @param guidanceRescale    diffusers' guidance_rescale; 0 = off
 * @param generator          the request's generator (txt2img: seeded; img2img/inpaint: continued from the VAE encoder)
 * @param initialLatents     explicit txt2img latents [B, C, h, w] (diffusers' {@code latents=}); null = drawn
 * @param strength           img2img / inpaint strength; 0 = txt2img
 * @param initLatents        scaled VAE latents of the init image [1 or B, C, h, w]; null for txt2img
 * @param mask               inpaint mask at latent size [1 or B, 1, h, w]; null unless inpainting
 * @param maskedImageLatents scaled latents of the masked image [1 or B, C, h, w] (9-channel UNets)
 * @param previewEvery       preview every N UNet calls; 0 = never
 */
public record DenoiseJob(String requestId, int batch, int latentHeight, int latentWidth,
                         float[] cond, float[] uncond, int sequenceLength,
                         Scheduler scheduler, int steps, float guidanceScale, float guidanceRescale,
                         TorchGenerator generator, float[] initialLatents,
                         float strength, float[] initLatents, float[] mask, float[] maskedImageLatents,
                         int previewEvery) {

    public boolean classifierFreeGuidance() {
        return guidanceScale > 1.0f;
    }

    public boolean isImageToImage() {
        return initLatents != null;
    }

    public boolean isInpainting() {
        return mask != null;
    }
}
