package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.Set;

/**
 * diffusers 0.25 {@code EulerDiscreteScheduler}: Karras et al. (2022) Algorithm 2 on the discrete SD noise schedule,
 * with optional Karras sigmas, log-linear sigma interpolation, continuous (EDM) timesteps for v-prediction and the
 * stochastic "churn" of {@link StepOptions}.
 */
public final class EulerDiscreteScheduler extends SigmaScheduler {
    public static final Set<String> CONFIG_KEYS = keys("interpolation_type", "use_karras_sigmas", "sigma_min",
            "sigma_max", "timestep_type", "rescale_betas_zero_snr");

    /** The {@code s_churn}, {@code s_tmin}, {@code s_tmax} and {@code s_noise} arguments of diffusers' {@code step}. */
    public record StepOptions(double sChurn, double sTmin, double sTmax, double sNoise) {
        public static final StepOptions DEFAULT = new StepOptions(0.0, 0.0, Double.POSITIVE_INFINITY, 1.0);
    }

    private final String interpolationType;
    /** Null when {@code use_karras_sigmas} is off. */
    private final KarrasBounds karrasBounds;
    private final boolean continuousTimesteps;
    private final StepOptions stepOptions;

    public EulerDiscreteScheduler(SchedulerConfig config) {
        this(config, StepOptions.DEFAULT);
    }

    public EulerDiscreteScheduler(SchedulerConfig config, StepOptions stepOptions) {
        super(legacyPredictionName(config), alphasCumprod(config), true);
        this.interpolationType = config.getString("interpolation_type", "linear");
        if (!interpolationType.equals("linear") && !interpolationType.equals("log_linear")) {
            throw new IllegalArgumentException(
                    "interpolation_type '" + interpolationType + "' is not one of linear, log_linear");
        }
        this.karrasBounds = config.getBoolean("use_karras_sigmas", false) ? KarrasBounds.of(config) : null;
        String timestepType = config.getString("timestep_type", "discrete");
        if (!timestepType.equals("discrete") && !timestepType.equals("continuous")) {
            throw new IllegalArgumentException("timestep_type '" + timestepType + "' is not one of discrete, continuous");
        }
        // diffusers only uses EDM's continuous timesteps together with v-prediction.
        this.continuousTimesteps = timestepType.equals("continuous") && predictionType.equals("v_prediction");
        this.stepOptions = stepOptions;
    }

    /** diffusers still accepts "original_sample" as the old name of "sample". */
    private static SchedulerConfig legacyPredictionName(SchedulerConfig config) {
        return config.getString("prediction_type", "epsilon").equals("original_sample")
                ? config.with("prediction_type", "sample") : config;
    }

    /** Euler and Euler a replace a zero terminal alpha_bar by fp16's smallest subnormal so sigma_max stays finite. */
    static float[] alphasCumprod(SchedulerConfig config) {
        float[] alphasCumprod = Sigmas.noiseSchedule(config, 0.0001, 0.02).alphasCumprod.clone();
        if (config.getBoolean("rescale_betas_zero_snr", false)) alphasCumprod[alphasCumprod.length - 1] = 0x1p-24f;
        return alphasCumprod;
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        double[] spaced = spacedTimesteps(numInferenceSteps);
        double[] inferenceSigmas;
        if (interpolationType.equals("linear")) {
            inferenceSigmas = Sigmas.interp(spaced, trainSigmas);
        } else {
            // torch.linspace(log(sigma_max), log(sigma_min), n + 1).exp() in float32: one more sigma than timesteps.
            float[] logs = NoiseSchedule.linspaceFloat32(
                    logSigmas[logSigmas.length - 1], logSigmas[0], numInferenceSteps + 1);
            inferenceSigmas = new double[logs.length];
            for (int i = 0; i < logs.length; i++) inferenceSigmas[i] = (float) Math.exp(logs[i]);
        }
        if (karrasBounds != null) {
            inferenceSigmas = Sigmas.karras(inferenceSigmas, numInferenceSteps, karrasBounds.sigmaMin(),
                    karrasBounds.sigmaMax());
            spaced = new double[inferenceSigmas.length];
            for (int i = 0; i < spaced.length; i++) spaced[i] = Sigmas.sigmaToT(inferenceSigmas[i], logSigmas);
        }
        float[] newSigmas = Sigmas.withFinalZero(inferenceSigmas);
        double[] newTimesteps;
        if (continuousTimesteps) {
            newTimesteps = new double[newSigmas.length - 1];
            for (int i = 0; i < newTimesteps.length; i++) newTimesteps[i] = 0.25f * (float) Math.log(newSigmas[i]);
        } else {
            newTimesteps = toFloat32(spaced);
        }
        resetSchedule(newTimesteps, newSigmas);
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        initStepIndex(timestep);
        float sigma = sigmas[stepIndex];
        StepOptions o = stepOptions;
        double gamma = (float) o.sTmin() <= sigma && sigma <= (float) o.sTmax()
                ? Math.min(o.sChurn() / (sigmas.length - 1), Math.sqrt(2) - 1) : 0.0;
        // diffusers draws this noise on every step, also when gamma is 0 and it has no effect; without a generator
        // there is no stream to keep in step, so only the churn needs one.
        float[] noise = generator != null || gamma > 0 ? Sigmas.randn(generator, modelOutput.length) : null;
        float sigmaHat = sigma * (float) (gamma + 1);
        if (gamma > 0) {
            float churn = (float) Math.sqrt(sigmaHat * sigmaHat - sigma * sigma);
            float sNoise = (float) o.sNoise();
            float[] churned = new float[sample.length];
            for (int i = 0; i < churned.length; i++) churned[i] = sample[i] + noise[i] * sNoise * churn;
            sample = churned;
        }
        // diffusers' v-prediction uses sigma, not sigma_hat, in c_out and c_skip.
        float[] predOriginal = Sigmas.predOriginalSample(predictionType, modelOutput, sample,
                predictionType.equals("v_prediction") ? sigma : sigmaHat);
        float[] derivative = Sigmas.derivative(sample, predOriginal, sigmaHat);
        float dt = sigmas[stepIndex + 1] - sigmaHat;
        float[] prevSample = Sigmas.eulerStep(sample, derivative, dt);
        stepIndex++;
        return new StepOutput(prevSample, predOriginal);
    }
}
