package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.Set;

/**
 * diffusers {@code LCMScheduler} (0.25): multistep latent-consistency sampling. Timesteps are picked evenly (by
 * index) from the {@code original_inference_steps}-long distillation schedule; every step except the last draws one
 * {@code randn} of the sample's size to re-noise the consistency prediction. {@code pred_original_sample} of the
 * {@link StepOutput} is diffusers' {@code denoised}.
 */
public final class LCMScheduler extends AlphasCumprodScheduler {
    public static final Set<String> CONFIG_KEYS = Set.of(
            "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas",
            "original_inference_steps", "clip_sample", "clip_sample_range", "set_alpha_to_one", "steps_offset",
            "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value", "timestep_spacing",
            "timestep_scaling", "rescale_betas_zero_snr");
    private static final float SIGMA_DATA = 0.5f;

    private final float finalAlphaCumprod;
    private final float timestepScaling;
    /** diffusers' {@code _step_index}: found from the first timestep passed to {@link #step}, so img2img can start late. */
    private int stepIndex = -1;

    public LCMScheduler(SchedulerConfig config) {
        super(config, NoiseSchedule.from(config, 0.00085, 0.012, "scaled_linear"));
        this.finalAlphaCumprod = config.getBoolean("set_alpha_to_one", true) ? 1.0f : alphasCumprod[0];
        this.timestepScaling = (float) config.getDouble("timestep_scaling", 10.0);
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        int originalSteps = config.getInt("original_inference_steps", 50);
        if (originalSteps < 1 || originalSteps > numTrainTimesteps) {
            throw new IllegalArgumentException("original_inference_steps must be in 1.." + numTrainTimesteps
                    + " (num_train_timesteps), got " + originalSteps);
        }
        checkInferenceSteps(numInferenceSteps);
        if (numInferenceSteps > originalSteps) {
            throw new IllegalArgumentException("num_inference_steps " + numInferenceSteps
                    + " cannot be larger than original_inference_steps " + originalSteps);
        }
        // The distillation schedule k-1, 2k-1, ..., originalSteps*k - 1 with skipping step k, taken descending.
        int k = numTrainTimesteps / originalSteps;
        long[] originDescending = new long[originalSteps];
        for (int i = 0; i < originalSteps; i++) originDescending[i] = (long) (originalSteps - i) * k - 1;
        // np.floor(np.linspace(0, len, num=n, endpoint=False)): index i * (len / n), rounded down
        double indexStep = (double) originalSteps / numInferenceSteps;
        long[] selected = new long[numInferenceSteps];
        for (int i = 0; i < numInferenceSteps; i++) selected[i] = originDescending[(int) Math.floor(i * indexStep)];
        this.numInferenceSteps = numInferenceSteps;
        this.timesteps = selected;
        this.stepIndex = -1;
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        checkTimestepsSet();
        int t = trainIndex(timestep);
        if (stepIndex < 0) stepIndex = indexForTimestep(t);

        // 1. previous step value: the next scheduled timestep, or t itself at the end
        int prevStepIndex = stepIndex + 1;
        int prevTimestep = prevStepIndex < timesteps.length ? (int) timesteps[prevStepIndex] : t;

        // 2. alphas, betas
        float alphaProdT = alphasCumprod[t];
        float alphaProdTPrev = prevTimestep >= 0 ? alphasCumprod[prevTimestep] : finalAlphaCumprod;
        float betaProdT = 1.0f - alphaProdT;
        float betaProdTPrev = 1.0f - alphaProdTPrev;

        // 3. boundary-condition scalings c_skip, c_out (get_scalings_for_boundary_condition_discrete)
        float scaledTimestep = t * timestepScaling;
        float denominator = scaledTimestep * scaledTimestep + SIGMA_DATA * SIGMA_DATA;
        // torch evaluates `0.25 / tensor` as tensor.reciprocal() * 0.25
        float cSkip = (1.0f / denominator) * (SIGMA_DATA * SIGMA_DATA);
        float cOut = scaledTimestep / sqrt(denominator);

        // 4-5. predicted x0, clipped or thresholded
        float[] predOriginalSample = clipOrThreshold(predictOriginalSample(modelOutput, sample, alphaProdT, betaProdT), false);

        // 6. consistency-model prediction
        float[] denoised = new float[sample.length];
        for (int i = 0; i < denoised.length; i++) denoised[i] = cOut * predOriginalSample[i] + cSkip * sample[i];

        // 7. re-noise to the previous timestep, except after the last step (and so never for one-step sampling)
        float[] prevSample = denoised;
        if (stepIndex != numInferenceSteps - 1) {
            float[] noise = generator.randn(modelOutput.length);
            float sqrtAlphaPrev = sqrt(alphaProdTPrev);
            float sqrtBetaPrev = sqrt(betaProdTPrev);
            prevSample = new float[denoised.length];
            for (int i = 0; i < prevSample.length; i++) {
                prevSample[i] = sqrtAlphaPrev * denoised[i] + sqrtBetaPrev * noise[i];
            }
        }
        stepIndex++;
        return new StepOutput(prevSample, denoised);
    }

    /** diffusers {@code index_for_timestep}: the second match when a timestep repeats, else the first. */
    private int indexForTimestep(int t) {
        int first = -1;
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] != t) continue;
            if (first >= 0) return i;
            first = i;
        }
        if (first < 0) throw new IllegalArgumentException("timestep " + t + " is not in the schedule");
        return first;
    }
}
