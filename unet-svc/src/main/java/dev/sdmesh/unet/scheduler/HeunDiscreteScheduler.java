package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.Set;

/**
 * diffusers 0.25 {@code HeunDiscreteScheduler}: Karras et al. (2022) Algorithm 1 with gamma 0. Every sigma step takes
 * two UNet calls (an Euler predictor and a trapezoidal corrector) except the last, which is plain Euler, so the
 * schedule has {@code 2n - 1} timesteps: {@code [t0, t1, t1, t2, t2, ...]}.
 */
public final class HeunDiscreteScheduler extends SigmaScheduler {
    public static final Set<String> CONFIG_KEYS = keys("use_karras_sigmas", "clip_sample", "clip_sample_range");

    /** Null when {@code use_karras_sigmas} is off. */
    private final KarrasBounds karrasBounds;
    private final boolean clipSample;
    private final float clipSampleRange;

    /** The first-order state kept for the corrector; null while in first-order mode. */
    private float[] prevDerivative;
    private Float dt;
    private float[] firstOrderSample;

    public HeunDiscreteScheduler(SchedulerConfig config) {
        super(config, alphasCumprod(config), true);
        this.karrasBounds = config.getBoolean("use_karras_sigmas", false) ? KarrasBounds.of(config) : null;
        this.clipSample = config.getBoolean("clip_sample", false);
        this.clipSampleRange = (float) config.getDouble("clip_sample_range", 1.0);
    }

    /** Heun alone also accepts diffusers' {@code "exp"} beta schedule. */
    private static float[] alphasCumprod(SchedulerConfig config) {
        boolean exponential = !config.has("trained_betas") && config.getString("beta_schedule", "linear").equals("exp");
        return exponential ? NoiseSchedule.exponential(config.getInt("num_train_timesteps", 1000)).alphasCumprod
                : alphasCumprodWithoutZeroSnr(config, 0.00085, 0.012);
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        BaseSchedule base = baseSchedule(numInferenceSteps, karrasBounds, false);
        float[] withZero = base.sigmas();
        double[] sigmaTimesteps = base.timesteps();
        // sigmas: [s0, s1, s1, ..., s_{n-1}, s_{n-1}, 0]; timesteps: [t0, t1, t1, ..., t_{n-1}, t_{n-1}].
        float[] interleavedSigmas = Sigmas.interleaveSecondOrder(withZero, withZero.length - 1);
        double[] interleavedTimesteps = new double[2 * sigmaTimesteps.length - 1];
        interleavedTimesteps[0] = sigmaTimesteps[0];
        for (int i = 1; i < sigmaTimesteps.length; i++) {
            interleavedTimesteps[2 * i - 1] = sigmaTimesteps[i];
            interleavedTimesteps[2 * i] = sigmaTimesteps[i];
        }
        resetSchedule(interleavedTimesteps, interleavedSigmas);
        prevDerivative = null;
        dt = null;
        firstOrderSample = null;
    }

    @Override
    public int order() {
        return 2;
    }

    private boolean stateInFirstOrder() {
        return dt == null;
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        initStepIndex(timestep);
        boolean firstOrder = stateInFirstOrder();
        float sigma = firstOrder ? sigmas[stepIndex] : sigmas[stepIndex - 1];
        float sigmaNext = firstOrder ? sigmas[stepIndex + 1] : sigmas[stepIndex];
        // Only gamma = 0 is implemented by diffusers, so sigma_hat is sigma.
        float sigmaHat = sigma;
        float sigmaInput = firstOrder ? sigmaHat : sigmaNext;
        float[] predOriginal = Sigmas.predOriginalSample(predictionType, modelOutput, sample, sigmaInput);
        if (clipSample) {
            for (int i = 0; i < predOriginal.length; i++) {
                predOriginal[i] = Math.max(-clipSampleRange, Math.min(clipSampleRange, predOriginal[i]));
            }
        }
        float[] derivative;
        float stepDt;
        float[] base;
        if (firstOrder) {
            derivative = Sigmas.derivative(sample, predOriginal, sigmaHat);
            stepDt = sigmaNext - sigmaHat;
            prevDerivative = derivative;
            dt = stepDt;
            firstOrderSample = sample;
            base = sample;
        } else {
            // Heun's corrector: average the predictor's slope with the slope at the predicted point.
            float[] corrected = Sigmas.derivative(sample, predOriginal, sigmaNext);
            derivative = new float[corrected.length];
            for (int i = 0; i < derivative.length; i++) derivative[i] = (prevDerivative[i] + corrected[i]) / 2;
            stepDt = dt;
            base = firstOrderSample;
            prevDerivative = null;
            dt = null;
            firstOrderSample = null;
        }
        float[] prevSample = Sigmas.eulerStep(base, derivative, stepDt);
        stepIndex++;
        return new StepOutput(prevSample, predOriginal);
    }
}
