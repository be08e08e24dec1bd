package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.Arrays;
import java.util.Set;

/**
 * diffusers {@code DDPMScheduler} (0.25): ancestral sampling that draws one {@code randn} of the sample's size at
 * every step with {@code t > 0}. For {@code learned} / {@code learned_range} the model output carries twice the
 * sample's channels, split per image as {@code torch.split(model_output, C, dim=1)} does.
 */
public final class DDPMScheduler extends AlphasCumprodScheduler {
    public static final Set<String> CONFIG_KEYS = Set.of(
            "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "variance_type",
            "clip_sample", "prediction_type", "thresholding", "dynamic_thresholding_ratio", "clip_sample_range",
            "sample_max_value", "timestep_spacing", "steps_offset", "rescale_betas_zero_snr");

    /**
     * Any string: diffusers' {@code _get_variance} leaves a variance_type it does not know at the clamped β̃_t,
     * so it samples exactly as {@code fixed_small}.
     */
    private final String varianceType;

    public DDPMScheduler(SchedulerConfig config) {
        super(config, noiseSchedule(config));
        this.varianceType = config.getString("variance_type", "fixed_small");
    }

    /** DDPM alone also offers GeoDiff's {@code sigmoid} beta schedule; {@code trained_betas} still take precedence. */
    private static NoiseSchedule noiseSchedule(SchedulerConfig config) {
        if (config.has("trained_betas") || !config.getString("beta_schedule", "linear").equals("sigmoid")) {
            return NoiseSchedule.from(config);
        }
        return NoiseSchedule.from(config.with("trained_betas", sigmoidBetas(config)));
    }

    /**
     * {@code torch.sigmoid(torch.linspace(-6, 6, n)) * (beta_end - beta_start) + beta_start} in float32: the
     * Python-float difference and start are rounded to float32 when they meet the tensor.
     */
    private static float[] sigmoidBetas(SchedulerConfig config) {
        double betaStart = config.getDouble("beta_start", 0.0001);
        double betaEnd = config.getDouble("beta_end", 0.02);
        float[] betas = NoiseSchedule.linspaceFloat32(-6, 6, config.getInt("num_train_timesteps", 1000));
        for (int i = 0; i < betas.length; i++) {
            float sigmoid = 1.0f / (1.0f + (float) Math.exp(-betas[i]));
            betas[i] = sigmoid * (float) (betaEnd - betaStart) + (float) betaStart;
        }
        return betas;
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
        int t = trainIndex(timestep);
        int prevT = previousTimestep(t);

        float[] predictedVariance = null;
        boolean learned = varianceType.equals("learned") || varianceType.equals("learned_range");
        if (learned && modelOutput.length == 2 * sample.length) {
            float[][] halves = splitChannels(modelOutput);
            modelOutput = halves[0];
            predictedVariance = halves[1];
        }

        // 1. alphas, betas
        float alphaProdT = alphasCumprod[t];
        float alphaProdTPrev = prevT >= 0 ? alphasCumprod[prevT] : 1.0f;
        float betaProdT = 1.0f - alphaProdT;
        float betaProdTPrev = 1.0f - alphaProdTPrev;
        float currentAlphaT = alphaProdT / alphaProdTPrev;
        float currentBetaT = 1.0f - currentAlphaT;

        // 2-3. predicted x0, clipped or thresholded
        float[] predOriginalSample = clipOrThreshold(predictOriginalSample(modelOutput, sample, alphaProdT, betaProdT), true);

        // 4-5. µ_t, formula (7) of the DDPM paper
        float predOriginalSampleCoeff = (sqrt(alphaProdTPrev) * currentBetaT) / betaProdT;
        float currentSampleCoeff = sqrt(currentAlphaT) * betaProdTPrev / betaProdT;
        float[] prevSample = new float[sample.length];
        for (int i = 0; i < prevSample.length; i++) {
            prevSample[i] = predOriginalSampleCoeff * predOriginalSample[i] + currentSampleCoeff * sample[i];
        }

        // 6. noise
        if (t > 0) {
            float[] varianceNoise = generator.randn(modelOutput.length);
            float[] std = noiseScale(t, predictedVariance, prevSample.length);
            for (int i = 0; i < prevSample.length; i++) prevSample[i] = prevSample[i] + std[i] * varianceNoise[i];
        }
        return new StepOutput(prevSample, predOriginalSample);
    }

    /** diffusers {@code previous_timestep} without custom timesteps. */
    private int previousTimestep(int t) {
        return t - numTrainTimesteps / numInferenceSteps;
    }

    /** The factor multiplying the noise in step 6, per element (it varies only for the learned variance types). */
    private float[] noiseScale(int t, float[] predictedVariance, int n) {
        float[] scale = new float[n];
        switch (varianceType) {
            case "fixed_small_log" -> Arrays.fill(scale, variance(t, null, 0));
            case "learned_range" -> {
                for (int i = 0; i < n; i++) scale[i] = (float) Math.exp(0.5f * variance(t, requireLearned(predictedVariance), i));
            }
            case "learned" -> {
                for (int i = 0; i < n; i++) scale[i] = sqrt(variance(t, requireLearned(predictedVariance), i));
            }
            default -> Arrays.fill(scale, sqrt(variance(t, null, 0)));
        }
        return scale;
    }

    /** diffusers {@code _get_variance} for element {@code i} (only the learned types depend on it). */
    private float variance(int t, float[] predictedVariance, int i) {
        int prevT = previousTimestep(t);
        float alphaProdT = alphasCumprod[t];
        float alphaProdTPrev = prevT >= 0 ? alphasCumprod[prevT] : 1.0f;
        float currentBetaT = 1.0f - alphaProdT / alphaProdTPrev;
        // β̃_t of formula (6) and (7), clamped so the log below stays finite
        float variance = Math.max((1.0f - alphaProdTPrev) / (1.0f - alphaProdT) * currentBetaT, 1e-20f);
        return switch (varianceType) {
            case "fixed_small_log" -> (float) Math.exp(0.5f * (float) Math.log(variance));
            case "fixed_large" -> currentBetaT;
            case "fixed_large_log" -> (float) Math.log(currentBetaT);
            case "learned" -> predictedVariance[i];
            case "learned_range" -> {
                float minLog = (float) Math.log(variance);
                float maxLog = (float) Math.log(currentBetaT);
                float frac = (predictedVariance[i] + 1.0f) / 2.0f;
                yield frac * maxLog + (1.0f - frac) * minLog;
            }
            // fixed_small, and any name diffusers does not know
            default -> variance;
        };
    }

    private static float[] requireLearned(float[] predictedVariance) {
        if (predictedVariance == null) {
            throw new IllegalArgumentException("a learned variance_type needs a model output with twice the sample's channels");
        }
        return predictedVariance;
    }

    /** {@code torch.split(model_output, C, dim=1)} on flattened [B, 2C, H, W]: the first and second half of each image. */
    private float[][] splitChannels(float[] modelOutput) {
        int images = batchSize();
        int half = modelOutput.length / (2 * images);
        float[] output = new float[half * images];
        float[] predictedVariance = new float[half * images];
        for (int b = 0; b < images; b++) {
            System.arraycopy(modelOutput, 2 * b * half, output, b * half, half);
            System.arraycopy(modelOutput, (2 * b + 1) * half, predictedVariance, b * half, half);
        }
        return new float[][]{output, predictedVariance};
    }
}
