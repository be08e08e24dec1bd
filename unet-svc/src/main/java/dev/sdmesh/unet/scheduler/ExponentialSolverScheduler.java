package dev.sdmesh.unet.scheduler;

import dev.sdmesh.unet.scheduler.DpmSolverMath.AlphaSigma;

import java.util.Set;

/**
 * What diffusers' VP exponential-integrator solvers (DPM-Solver multistep and singlestep, DEIS, UniPC) share: int64
 * timesteps with one more float32 sigma than timesteps, identity {@code scale_model_input},
 * {@code init_noise_sigma = 1}, a step counter set from the first timestep seen (so img2img starts mid-schedule),
 * {@code add_noise = alpha_t * x0 + sigma_t * noise}, and the thresholded data prediction.
 */
abstract class ExponentialSolverScheduler implements Scheduler {
    protected final NoiseSchedule noise;
    protected final String predictionType;
    private final boolean thresholding;
    private final double dynamicThresholdingRatio;
    private final double sampleMaxValue;
    private int batchSize = 1;

    protected long[] timesteps;
    protected float[] sigmas;
    /** diffusers' {@code _step_index}: null until the first {@link #step}. */
    protected Integer stepIndex;

    protected ExponentialSolverScheduler(SchedulerConfig config) {
        // None of these classes has rescale_betas_zero_snr in 0.25: diffusers ignores the key if a shared config has it.
        this.noise = NoiseSchedule.from(config.with("rescale_betas_zero_snr", false));
        this.predictionType = config.getString("prediction_type", "epsilon");
        this.thresholding = config.getBoolean("thresholding", false);
        this.dynamicThresholdingRatio = config.getDouble("dynamic_thresholding_ratio", 0.995);
        this.sampleMaxValue = config.getDouble("sample_max_value", 1.0);
        if (!Set.of("epsilon", "sample", "v_prediction").contains(predictionType)) {
            throw new IllegalArgumentException(
                    "prediction_type '" + predictionType + "' is not one of epsilon, sample, v_prediction");
        }
    }

    /**
     * The number of images in the flattened latents; only {@code thresholding} (a per-image quantile) needs it.
     */
    public void setBatchSize(int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        this.batchSize = batchSize;
    }

    /** Installs a new schedule and forgets the step counter, as every {@code set_timesteps} does. */
    protected void setSchedule(DpmSolverMath.Schedule schedule) {
        this.timesteps = schedule.timesteps();
        this.sigmas = schedule.sigmas();
        this.stepIndex = null;
    }

    /** diffusers' {@code _init_step_index} on the first step. */
    protected void initStepIndex(double timestep) {
        if (timesteps == null) throw new IllegalStateException("setTimesteps must be called before step");
        if (stepIndex == null) stepIndex = DpmSolverMath.indexForTimestep(timesteps, timestep);
    }

    @Override
    public double[] timesteps() {
        return new DpmSolverMath.Schedule(timesteps, sigmas).timestepsAsDouble();
    }

    /** diffusers {@code scheduler.sigmas} after {@link #setTimesteps}. */
    public float[] sigmas() {
        return sigmas.clone();
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

    @Override
    public float[] addNoise(float[] originalSamples, float[] noiseSample, double timestep) {
        if (timesteps == null) throw new IllegalStateException("setTimesteps must be called before addNoise");
        AlphaSigma as = AlphaSigma.of(sigmas[DpmSolverMath.indexForTimestep(timesteps, timestep)]);
        float[] out = new float[originalSamples.length];
        for (int i = 0; i < out.length; i++) out[i] = as.alpha() * originalSamples[i] + as.sigma() * noiseSample[i];
        return out;
    }

    /**
     * The mean part of the model output: with {@code variance_type} learned/learned_range the model also predicts the
     * variance, and diffusers keeps {@code model_output[:, :3]}, the leading channels of each image.
     */
    protected float[] meanOutput(float[] modelOutput, float[] sample, String varianceType) {
        boolean learned = "learned".equals(varianceType) || "learned_range".equals(varianceType);
        if (!learned || modelOutput.length == sample.length) return modelOutput;
        int perImageOut = modelOutput.length / batchSize;
        int perImageMean = sample.length / batchSize;
        float[] mean = new float[sample.length];
        for (int b = 0; b < batchSize; b++) System.arraycopy(modelOutput, b * perImageOut, mean, b * perImageMean, perImageMean);
        return mean;
    }

    /** x0 at the current sigma, dynamically thresholded when configured. */
    protected float[] dataPrediction(float[] modelOutput, float[] sample) {
        AlphaSigma as = AlphaSigma.of(sigmas[stepIndex]);
        float[] x0 = DpmSolverMath.dataPrediction(predictionType, modelOutput, sample, as);
        return thresholding ? threshold(x0) : x0;
    }

    /**
     * epsilon at the current sigma; with thresholding, diffusers round-trips it through a thresholded x0.
     */
    protected float[] noisePrediction(float[] modelOutput, float[] sample) {
        AlphaSigma as = AlphaSigma.of(sigmas[stepIndex]);
        float[] eps = DpmSolverMath.noisePrediction(predictionType, modelOutput, sample, as);
        if (!thresholding) return eps;
        float[] x0 = new float[sample.length];
        for (int i = 0; i < x0.length; i++) x0[i] = (sample[i] - as.sigma() * eps[i]) / as.alpha();
        return DpmSolverMath.noiseFromData(threshold(x0), sample, as);
    }

    private float[] threshold(float[] x0) {
        return DynamicThresholding.threshold(x0, batchSize, dynamicThresholdingRatio, sampleMaxValue);
    }
}
