package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.unet.scheduler.DpmSolverMath.AlphaSigma;

import java.util.Set;

/**
 * diffusers 0.25 {@code DEISMultistepScheduler}: log-rho DEIS (Zhang and Chen 2022), multistep orders 1-3. Its
 * coefficients integrate the Lagrange polynomial through the previous noise predictions in log(rho),
 * rho = sigma_t / alpha_t.
 */
public final class DEISMultistepScheduler extends ExponentialSolverScheduler {

    public static final Set<String> CONFIG_KEYS = Set.of(
            "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "solver_order",
            "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value", "algorithm_type",
            "solver_type", "lower_order_final", "use_karras_sigmas", "timestep_spacing", "steps_offset");

    private final int solverOrder;
    private final boolean lowerOrderFinal;
    private final boolean useKarrasSigmas;
    private final String timestepSpacing;
    private final int stepsOffset;

    private float[][] modelOutputs;
    private int lowerOrderNums;

    public DEISMultistepScheduler(SchedulerConfig config) {
        super(config);
        this.solverOrder = config.getInt("solver_order", 2);
        this.lowerOrderFinal = config.getBoolean("lower_order_final", true);
        this.useKarrasSigmas = config.getBoolean("use_karras_sigmas", false);
        this.timestepSpacing = config.getString("timestep_spacing", "linspace");
        this.stepsOffset = config.getInt("steps_offset", 0);
        // diffusers maps the DPM-Solver names onto DEIS's only variant, log-rho DEIS
        String algorithm = config.getString("algorithm_type", "deis");
        if (!Set.of("deis", "dpmsolver", "dpmsolver++").contains(algorithm)) {
            throw new IllegalArgumentException("algorithm_type '" + algorithm + "' is not implemented");
        }
        String solver = config.getString("solver_type", "logrho");
        if (!Set.of("logrho", "midpoint", "heun", "bh1", "bh2").contains(solver)) {
            throw new IllegalArgumentException("solver_type '" + solver + "' is not implemented");
        }
        // diffusers' step runs any order above 3 as the third-order update
        if (solverOrder < 1) throw new IllegalArgumentException("solver_order must be >= 1, got " + solverOrder);
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        long[] spaced = DpmSolverMath.spacedTimesteps(timestepSpacing, noise.numTrainTimesteps,
                noise.numTrainTimesteps, numInferenceSteps, stepsOffset);
        setSchedule(DpmSolverMath.vpSchedule(noise, spaced, useKarrasSigmas, false));
        this.modelOutputs = new float[solverOrder][];
        this.lowerOrderNums = 0;
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        initStepIndex(timestep);
        int n = timesteps.length;
        boolean shortSchedule = lowerOrderFinal && n < 15;
        boolean lowerOrderFinalStep = stepIndex == n - 1 && shortSchedule;
        boolean lowerOrderSecondStep = stepIndex == n - 2 && shortSchedule;

        // DEIS integrates the noise prediction, taken through a (possibly thresholded) x0
        float[] x0 = dataPrediction(modelOutput, sample);
        float[] eps = DpmSolverMath.noiseFromData(x0, sample, AlphaSigma.of(sigmas[stepIndex]));
        System.arraycopy(modelOutputs, 1, modelOutputs, 0, solverOrder - 1);
        modelOutputs[solverOrder - 1] = eps;

        float[] prevSample;
        if (solverOrder == 1 || lowerOrderNums < 1 || lowerOrderFinalStep) {
            prevSample = firstOrderUpdate(eps, sample);
        } else if (solverOrder == 2 || lowerOrderNums < 2 || lowerOrderSecondStep) {
            prevSample = secondOrderUpdate(sample);
        } else {
            prevSample = thirdOrderUpdate(sample);
        }
        if (lowerOrderNums < solverOrder) lowerOrderNums++;
        stepIndex++;
        return new StepOutput(prevSample, null);
    }

    private float[] firstOrderUpdate(float[] m0, float[] sample) {
        AlphaSigma t = AlphaSigma.of(sigmas[stepIndex + 1]);
        AlphaSigma s = AlphaSigma.of(sigmas[stepIndex]);
        float h = t.lambda() - s.lambda();
        float a = t.alpha() / s.alpha();
        float b = t.sigma() * (DpmSolverMath.exp(h) - 1.0f);
        float[] x = new float[sample.length];
        for (int i = 0; i < x.length; i++) x[i] = a * sample[i] - b * m0[i];
        return x;
    }

    private float[] secondOrderUpdate(float[] sample) {
        AlphaSigma t = AlphaSigma.of(sigmas[stepIndex + 1]);
        AlphaSigma s0 = AlphaSigma.of(sigmas[stepIndex]);
        AlphaSigma s1 = AlphaSigma.of(sigmas[stepIndex - 1]);
        float rhoT = t.sigma() / t.alpha();
        float rhoS0 = s0.sigma() / s0.alpha();
        float rhoS1 = s1.sigma() / s1.alpha();
        float coef1 = linearIntegral(rhoT, rhoS0, rhoS1) - linearIntegral(rhoS0, rhoS0, rhoS1);
        float coef2 = linearIntegral(rhoT, rhoS1, rhoS0) - linearIntegral(rhoS0, rhoS1, rhoS0);
        float[] m0 = modelOutputs[solverOrder - 1];
        float[] m1 = modelOutputs[solverOrder - 2];
        float[] x = new float[sample.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = t.alpha() * (sample[i] / s0.alpha() + coef1 * m0[i] + coef2 * m1[i]);
        }
        return x;
    }

    private float[] thirdOrderUpdate(float[] sample) {
        AlphaSigma t = AlphaSigma.of(sigmas[stepIndex + 1]);
        AlphaSigma s0 = AlphaSigma.of(sigmas[stepIndex]);
        AlphaSigma s1 = AlphaSigma.of(sigmas[stepIndex - 1]);
        AlphaSigma s2 = AlphaSigma.of(sigmas[stepIndex - 2]);
        float rhoT = t.sigma() / t.alpha();
        float rhoS0 = s0.sigma() / s0.alpha();
        float rhoS1 = s1.sigma() / s1.alpha();
        float rhoS2 = s2.sigma() / s2.alpha();
        float coef1 = quadraticIntegral(rhoT, rhoS0, rhoS1, rhoS2) - quadraticIntegral(rhoS0, rhoS0, rhoS1, rhoS2);
        float coef2 = quadraticIntegral(rhoT, rhoS1, rhoS2, rhoS0) - quadraticIntegral(rhoS0, rhoS1, rhoS2, rhoS0);
        float coef3 = quadraticIntegral(rhoT, rhoS2, rhoS0, rhoS1) - quadraticIntegral(rhoS0, rhoS2, rhoS0, rhoS1);
        float[] m0 = modelOutputs[solverOrder - 1];
        float[] m1 = modelOutputs[solverOrder - 2];
        float[] m2 = modelOutputs[solverOrder - 3];
        float[] x = new float[sample.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = t.alpha() * (sample[i] / s0.alpha() + coef1 * m0[i] + coef2 * m1[i] + coef3 * m2[i]);
        }
        return x;
    }

    /** diffusers' 2nd-order {@code ind_fn}: the antiderivative of (log t - log c) / (log b - log c). */
    private static float linearIntegral(float t, float b, float c) {
        float logT = DpmSolverMath.log(t);
        float logB = DpmSolverMath.log(b);
        float logC = DpmSolverMath.log(c);
        return t * (-logC + logT - 1) / (logB - logC);
    }

    /**
     * diffusers' 3rd-order {@code ind_fn}: the antiderivative of
     * (log t - log c)(log t - log d) / ((log b - log c)(log b - log d)).
     */
    private static float quadraticIntegral(float t, float b, float c, float d) {
        float logT = DpmSolverMath.log(t);
        float logB = DpmSolverMath.log(b);
        float logC = DpmSolverMath.log(c);
        float logD = DpmSolverMath.log(d);
        float numerator = t * (logC * (logD - logT + 1) - logD * logT + logD + logT * logT - 2 * logT + 2);
        float denominator = (logB - logC) * (logB - logD);
        return numerator / denominator;
    }
}
