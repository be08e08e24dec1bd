package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.Set;

/**
 * diffusers {@code DDIMScheduler} (0.25). The {@code eta} of {@code step()} is read from the config key {@code eta}
 * (default 0, deterministic); with {@code eta > 0} each step draws one {@code randn} of the sample's size.
 */
public final class DDIMScheduler extends AlphasCumprodScheduler {
    /** The {@code __init__} keys, plus {@code eta}, the {@code step()} argument this class takes from the config. */
    public static final Set<String> CONFIG_KEYS = Set.of(
            "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "clip_sample",
            "set_alpha_to_one", "steps_offset", "prediction_type", "thresholding", "dynamic_thresholding_ratio",
            "clip_sample_range", "sample_max_value", "timestep_spacing", "rescale_betas_zero_snr", "eta");

    private final float finalAlphaCumprod;
    private final float eta;

    public DDIMScheduler(SchedulerConfig config) {
        super(config, NoiseSchedule.from(config));
        // The last step looks at the "previous" ᾱ, which does not exist: 1, or ᾱ_0 as Stable Diffusion configures.
        this.finalAlphaCumprod = config.getBoolean("set_alpha_to_one", true) ? 1.0f : alphasCumprod[0];
        this.eta = (float) config.getDouble("eta", 0.0);
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        checkInferenceSteps(numInferenceSteps);
        this.numInferenceSteps = numInferenceSteps;
        this.timesteps = spacedTimesteps(numInferenceSteps);
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        checkTimestepsSet();
        // 1. diffusers always steps back by num_train_timesteps // n, whatever the spacing.
        int t = trainIndex(timestep);
        int prevT = t - numTrainTimesteps / numInferenceSteps;

        // 2. alphas, betas
        float alphaProdT = alphasCumprod[t];
        float alphaProdTPrev = alphaProdPrev(prevT);
        float betaProdT = 1.0f - alphaProdT;

        // 3. predicted x0 and ε
        float[] predOriginalSample = predictOriginalSample(modelOutput, sample, alphaProdT, betaProdT);
        float[] predEpsilon = predictEpsilon(modelOutput, sample, predOriginalSample, alphaProdT, betaProdT);

        // 4. clip or threshold x0
        predOriginalSample = clipOrThreshold(predOriginalSample, true);

        // 5. σ_t(η), formula (16)
        float stdDevT = eta * sqrt(variance(t, prevT));

        // 6-7. direction pointing to x_t, then x_{t-1} without noise, formula (12)
        float directionCoeff = sqrt(1.0f - alphaProdTPrev - stdDevT * stdDevT);
        float sqrtAlphaProdTPrev = sqrt(alphaProdTPrev);
        float[] prevSample = new float[sample.length];
        for (int i = 0; i < prevSample.length; i++) {
            float direction = directionCoeff * predEpsilon[i];
            prevSample[i] = sqrtAlphaProdTPrev * predOriginalSample[i] + direction;
        }

        if (eta > 0) {
            float[] varianceNoise = generator.randn(modelOutput.length);
            for (int i = 0; i < prevSample.length; i++) prevSample[i] = prevSample[i] + stdDevT * varianceNoise[i];
        }
        return new StepOutput(prevSample, predOriginalSample);
    }

    private float alphaProdPrev(int prevT) {
        return prevT >= 0 ? alphasCumprod[prevT] : finalAlphaCumprod;
    }

    /** diffusers {@code _get_variance}. */
    private float variance(int t, int prevT) {
        float alphaProdT = alphasCumprod[t];
        float alphaProdTPrev = alphaProdPrev(prevT);
        float betaProdT = 1.0f - alphaProdT;
        float betaProdTPrev = 1.0f - alphaProdTPrev;
        return (betaProdTPrev / betaProdT) * (1.0f - alphaProdT / alphaProdTPrev);
    }

    /** {@code pred_epsilon}, derived from the unclipped x0 as diffusers does before step 4. */
    private float[] predictEpsilon(float[] modelOutput, float[] sample, float[] predOriginalSample,
                                   float alphaProdT, float betaProdT) {
        String predictionType = config.getString("prediction_type", "epsilon");
        float sqrtAlpha = sqrt(alphaProdT);
        float sqrtBeta = sqrt(betaProdT);
        return switch (predictionType) {
            case "epsilon" -> modelOutput;
            case "sample" -> {
                float[] eps = new float[sample.length];
                for (int i = 0; i < eps.length; i++) eps[i] = (sample[i] - sqrtAlpha * predOriginalSample[i]) / sqrtBeta;
                yield eps;
            }
            case "v_prediction" -> {
                float[] eps = new float[sample.length];
                for (int i = 0; i < eps.length; i++) eps[i] = sqrtAlpha * modelOutput[i] + sqrtBeta * sample[i];
                yield eps;
            }
            default -> throw new IllegalArgumentException("prediction_type " + predictionType + " is not supported");
        };
    }
}
