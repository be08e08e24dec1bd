package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

/**
 * A diffusion scheduler with diffusers' semantics (diffusers 0.25). One instance serves one request: it holds the
 * per-request state (timesteps, step index, multistep history). Arrays are float32 NCHW latents flattened row-major;
 * all samplers work element-wise, so the batch axis needs no special handling.
 */
public interface Scheduler {

    /**
     * Images in the arrays passed to this scheduler (default 1). Only per-image operations need it: dynamic
     * thresholding and learned-variance clipping work on each image's own statistics.
     */
    default void setBatchSize(int batchSize) {
    }

    /** diffusers {@code set_timesteps(num_inference_steps)}. */
    void setTimesteps(int numInferenceSteps);

    /** diffusers {@code scheduler.timesteps}: the values fed to the UNet, one per UNet call, in order. */
    double[] timesteps();

    /** Whether diffusers holds {@link #timesteps()} as int64 (DDIM, PNDM, DPM++, ...) rather than float32 (Euler, LMS, ...). */
    boolean integerTimesteps();

    /** diffusers {@code scheduler.order}, used for img2img's {@code timesteps[t_start * order:]}. */
    int order();

    /** diffusers {@code init_noise_sigma} after {@link #setTimesteps}. */
    float initNoiseSigma();

    /** diffusers {@code scale_model_input(sample, timestep)}; may return {@code sample} itself when it is the identity. */
    float[] scaleModelInput(float[] sample, double timestep);

    /**
     * diffusers {@code step(model_output, timestep, sample, generator)}. Draws from {@code generator} exactly the
     * noise diffusers draws (also draws whose result is unused, such as Euler's with {@code s_churn = 0}).
     */
    StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator);

    /** diffusers {@code add_noise(original_samples, noise, timesteps)} for one timestep. */
    float[] addNoise(float[] originalSamples, float[] noise, double timestep);

    /** {@code prev_sample} and, where the scheduler computes one, {@code pred_original_sample} (LCM: {@code denoised}). */
    record StepOutput(float[] prevSample, float[] predOriginalSample) {
    }
}
