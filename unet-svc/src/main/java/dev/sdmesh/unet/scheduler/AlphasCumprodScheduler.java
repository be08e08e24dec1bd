package dev.sdmesh.unet.scheduler;

import java.util.Arrays;

/**
 * What DDIM, DDPM, PNDM and LCM share in diffusers: integer timesteps indexing {@code alphas_cumprod}, an identity
 * {@code scale_model_input}, {@code init_noise_sigma = 1}, the same {@code add_noise}, and (except PNDM) the
 * {@code prediction_type} → {@code pred_original_sample} conversion with {@code clip_sample} / {@code thresholding}.
 * Scalars taken from {@code alphas_cumprod} are float32 0-d tensors in diffusers, so they are computed as floats here.
 */
public abstract class AlphasCumprodScheduler implements Scheduler {
    protected final SchedulerConfig config;
    protected final int numTrainTimesteps;
    protected final float[] alphasCumprod;
    protected int numInferenceSteps;
    protected long[] timesteps = new long[0];
    private int batchSize = 1;

    protected AlphasCumprodScheduler(SchedulerConfig config, NoiseSchedule schedule) {
        this.config = config;
        this.numTrainTimesteps = schedule.numTrainTimesteps;
        this.alphasCumprod = schedule.alphasCumprod;
    }

    /**
     * The number of images in the flattened latents. Only {@code thresholding} (a per-image quantile) and DDPM's
     * learned variance (a per-image channel split) need it; every other operation is element-wise.
     */
    public void setBatchSize(int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        this.batchSize = batchSize;
    }

    protected int batchSize() {
        return batchSize;
    }

    @Override
    public double[] timesteps() {
        return Arrays.stream(timesteps).asDoubleStream().toArray();
    }

    @Override
    public boolean integerTimesteps() {
        return true;
    }

    @Override
    public int order() {
        return 1;
    }

    @Override
    public float initNoiseSigma() {
        return 1.0f;
    }

    @Override
    public float[] scaleModelInput(float[] sample, double timestep) {
        return sample;
    }

    /** {@code sqrt(ᾱ_t) * x0 + sqrt(1 - ᾱ_t) * noise}. */
    @Override
    public float[] addNoise(float[] originalSamples, float[] noise, double timestep) {
        float alphaProd = alphasCumprod[trainIndex(timestep)];
        float sqrtAlphaProd = sqrt(alphaProd);
        float sqrtOneMinusAlphaProd = sqrt(1.0f - alphaProd);
        float[] noisy = new float[originalSamples.length];
        for (int i = 0; i < noisy.length; i++) {
            noisy[i] = sqrtAlphaProd * originalSamples[i] + sqrtOneMinusAlphaProd * noise[i];
        }
        return noisy;
    }

    protected void checkInferenceSteps(int numInferenceSteps) {
        if (numInferenceSteps < 1 || numInferenceSteps > numTrainTimesteps) {
            throw new IllegalArgumentException("num_inference_steps must be in 1.." + numTrainTimesteps
                    + " (num_train_timesteps), got " + numInferenceSteps);
        }
    }

    protected void checkTimestepsSet() {
        if (numInferenceSteps == 0) {
            throw new IllegalStateException("Number of inference steps is 'None', you need to run 'set_timesteps' first");
        }
    }

    /** The {@code alphas_cumprod} index of a timestep value. */
    protected int trainIndex(double timestep) {
        int t = (int) timestep;
        if (t != timestep || t < 0 || t >= numTrainTimesteps) {
            throw new IllegalArgumentException("timestep " + timestep + " is not an integer in 0.." + (numTrainTimesteps - 1));
        }
        return t;
    }

    /**
     * diffusers' descending schedule for {@code timestep_spacing} (DDIM and DDPM; PNDM uses it in ascending order).
     * numpy evaluates linspace as {@code i * (999 / (n - 1))} and the trailing arange as
     * {@code start + i * ((start - ratio) - start)}, both in float64, then rounds half to even.
     */
    protected long[] spacedTimesteps(int numInferenceSteps) {
        String spacing = config.getString("timestep_spacing", "leading");
        int stepsOffset = config.getInt("steps_offset", 0);
        long[] out = new long[numInferenceSteps];
        switch (spacing) {
            case "linspace" -> {
                double step = numInferenceSteps > 1 ? (numTrainTimesteps - 1.0) / (numInferenceSteps - 1) : 0.0;
                for (int i = 0; i < numInferenceSteps; i++) {
                    double value = i == numInferenceSteps - 1 && numInferenceSteps > 1 ? numTrainTimesteps - 1 : i * step;
                    out[numInferenceSteps - 1 - i] = (long) Math.rint(value);
                }
            }
            case "leading" -> {
                int stepRatio = numTrainTimesteps / numInferenceSteps;
                for (int i = 0; i < numInferenceSteps; i++) {
                    out[numInferenceSteps - 1 - i] = (long) i * stepRatio + stepsOffset;
                }
            }
            case "trailing" -> {
                double stepRatio = (double) numTrainTimesteps / numInferenceSteps;
                int count = (int) Math.ceil(numTrainTimesteps / stepRatio);
                double delta = (numTrainTimesteps - stepRatio) - numTrainTimesteps;
                out = new long[count];
                for (int i = 0; i < count; i++) out[i] = (long) Math.rint(numTrainTimesteps + i * delta) - 1;
            }
            default -> throw new IllegalArgumentException(
                    "timestep_spacing '" + spacing + "' is not one of linspace, leading, trailing");
        }
        return out;
    }

    /** Step 3 of DDIM / DDPM / LCM {@code step}: x0 from the model output per {@code prediction_type}. */
    protected float[] predictOriginalSample(float[] modelOutput, float[] sample, float alphaProdT, float betaProdT) {
        String predictionType = config.getString("prediction_type", "epsilon");
        float[] x0 = new float[sample.length];
        switch (predictionType) {
            case "epsilon" -> {
                float sqrtBeta = sqrt(betaProdT);
                float sqrtAlpha = sqrt(alphaProdT);
                for (int i = 0; i < x0.length; i++) x0[i] = (sample[i] - sqrtBeta * modelOutput[i]) / sqrtAlpha;
            }
            case "sample" -> System.arraycopy(modelOutput, 0, x0, 0, x0.length);
            case "v_prediction" -> {
                float sqrtAlpha = sqrt(alphaProdT);
                float sqrtBeta = sqrt(betaProdT);
                for (int i = 0; i < x0.length; i++) x0[i] = sqrtAlpha * sample[i] - sqrtBeta * modelOutput[i];
            }
            default -> throw new IllegalArgumentException("prediction_type given as " + predictionType
                    + " must be one of `epsilon`, `sample`, or `v_prediction`");
        }
        return x0;
    }

    /** "Clip or threshold predicted x_0": thresholding wins over clip_sample, as in diffusers. */
    protected float[] clipOrThreshold(float[] x0, boolean clipSampleDefault) {
        if (config.getBoolean("thresholding", false)) {
            return DynamicThresholding.threshold(x0, batchSize,
                    config.getDouble("dynamic_thresholding_ratio", 0.995), config.getDouble("sample_max_value", 1.0));
        }
        if (config.getBoolean("clip_sample", clipSampleDefault)) {
            float range = (float) config.getDouble("clip_sample_range", 1.0);
            for (int i = 0; i < x0.length; i++) x0[i] = Math.min(Math.max(x0[i], -range), range);
        }
        return x0;
    }

    /** float32 sqrt: a double sqrt rounded to float is the correctly rounded float sqrt. */
    protected static float sqrt(float x) {
        return (float) Math.sqrt(x);
    }
}
