package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.unet.scheduler.DpmSolverMath.AlphaSigma;

import java.util.Set;

/**
 * diffusers 0.25 {@code DPMSolverMultistepScheduler} (DPM-Solver / DPM-Solver++ multistep, orders 1-3, with the SDE
 * variants). {@code final_sigmas_type} and {@code rescale_betas_zero_snr} came in later releases: configs saved by
 * them carry the keys, and 0.25 ignores them, so this class does too. A {@code solver_order} above 3 runs as 3, as in
 * diffusers, whose step falls through to the third-order update.
 */
public final class DPMSolverMultistepScheduler extends ExponentialSolverScheduler {

    /** The 0.25 {@code __init__} keys, plus {@code final_sigmas_type}: accepted so newer configs load, and ignored. */
    public static final Set<String> CONFIG_KEYS = Set.of(
            "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "solver_order",
            "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value", "algorithm_type",
            "solver_type", "lower_order_final", "euler_at_final", "use_karras_sigmas", "use_lu_lambdas",
            "final_sigmas_type", "lambda_min_clipped", "variance_type", "timestep_spacing", "steps_offset");

    private final int solverOrder;
    private final String algorithmType;
    private final String solverType;
    private final boolean lowerOrderFinal;
    private final boolean eulerAtFinal;
    private final boolean useKarrasSigmas;
    private final boolean useLuLambdas;
    private final double lambdaMinClipped;
    private final String varianceType;
    private final String timestepSpacing;
    private final int stepsOffset;

    private float[][] modelOutputs;
    private int lowerOrderNums;

    public DPMSolverMultistepScheduler(SchedulerConfig config) {
        super(config);
        this.solverOrder = config.getInt("solver_order", 2);
        // diffusers maps the sibling solvers' names onto its own: deis -> dpmsolver++, logrho/bh1/bh2 -> midpoint
        String algorithm = config.getString("algorithm_type", "dpmsolver++");
        this.algorithmType = "deis".equals(algorithm) ? "dpmsolver++" : algorithm;
        String solver = config.getString("solver_type", "midpoint");
        this.solverType = Set.of("logrho", "bh1", "bh2").contains(solver) ? "midpoint" : solver;
        this.lowerOrderFinal = config.getBoolean("lower_order_final", true);
        this.eulerAtFinal = config.getBoolean("euler_at_final", false);
        this.useKarrasSigmas = config.getBoolean("use_karras_sigmas", false);
        this.useLuLambdas = config.getBoolean("use_lu_lambdas", false);
        this.lambdaMinClipped = config.getDouble("lambda_min_clipped", Double.NEGATIVE_INFINITY);
        this.varianceType = config.has("variance_type") ? config.getString("variance_type", null) : null;
        this.timestepSpacing = config.getString("timestep_spacing", "linspace");
        this.stepsOffset = config.getInt("steps_offset", 0);

        if (!Set.of("dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++").contains(algorithmType)) {
            throw new IllegalArgumentException("algorithm_type '" + algorithm + "' is not implemented");
        }
        if (!Set.of("midpoint", "heun").contains(solverType)) {
            throw new IllegalArgumentException("solver_type '" + solver + "' is not implemented");
        }
        if (solverOrder < 1) throw new IllegalArgumentException("solver_order must be >= 1, got " + solverOrder);
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        int lastTimestep = DpmSolverMath.clippedLastTimestep(noise, lambdaMinClipped);
        long[] spaced = DpmSolverMath.spacedTimesteps(
                timestepSpacing, lastTimestep, noise.numTrainTimesteps, numInferenceSteps, stepsOffset);
        setSchedule(DpmSolverMath.vpSchedule(noise, spaced, useKarrasSigmas, useLuLambdas));
        this.modelOutputs = new float[solverOrder][];
        this.lowerOrderNums = 0;
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        initStepIndex(timestep);
        int n = timesteps.length;
        boolean shortSchedule = lowerOrderFinal && n < 15;
        boolean lowerOrderFinalStep = stepIndex == n - 1 && (eulerAtFinal || shortSchedule);
        boolean lowerOrderSecondStep = stepIndex == n - 2 && shortSchedule;

        float[] converted = convertModelOutput(modelOutput, sample);
        System.arraycopy(modelOutputs, 1, modelOutputs, 0, solverOrder - 1);
        modelOutputs[solverOrder - 1] = converted;

        float[] noiseDraw = algorithmType.startsWith("sde-") ? Sigmas.randn(generator, converted.length) : null;

        float[] prevSample;
        if (solverOrder == 1 || lowerOrderNums < 1 || lowerOrderFinalStep) {
            prevSample = firstOrderUpdate(converted, sample, noiseDraw);
        } else if (solverOrder == 2 || lowerOrderNums < 2 || lowerOrderSecondStep) {
            prevSample = secondOrderUpdate(sample, noiseDraw);
        } else {
            prevSample = thirdOrderUpdate(sample);
        }
        if (lowerOrderNums < solverOrder) lowerOrderNums++;
        stepIndex++;
        return new StepOutput(prevSample, null);
    }

    /** DPM-Solver++ works on the data prediction x0, DPM-Solver on the noise prediction epsilon. */
    private float[] convertModelOutput(float[] modelOutput, float[] sample) {
        float[] output = meanOutput(modelOutput, sample, varianceType);
        return algorithmType.endsWith("dpmsolver++") ? dataPrediction(output, sample) : noisePrediction(output, sample);
    }

    private float[] firstOrderUpdate(float[] m0, float[] sample, float[] noiseDraw) {
        return DpmSolverMath.firstOrderUpdate(algorithmType, AlphaSigma.of(sigmas[stepIndex + 1]),
                AlphaSigma.of(sigmas[stepIndex]), sample, m0, noiseDraw);
    }

    private float[] secondOrderUpdate(float[] sample, float[] noiseDraw) {
        AlphaSigma t = AlphaSigma.of(sigmas[stepIndex + 1]);
        AlphaSigma s0 = AlphaSigma.of(sigmas[stepIndex]);
        AlphaSigma s1 = AlphaSigma.of(sigmas[stepIndex - 1]);
        float[] m0 = modelOutputs[solverOrder - 1];
        float[] m1 = modelOutputs[solverOrder - 2];
        float lambdaS0 = s0.lambda();
        float h = t.lambda() - lambdaS0;
        float r0 = (lambdaS0 - s1.lambda()) / h;
        return DpmSolverMath.SecondOrder.of(algorithmType, solverType, t, s0, h)
                .apply(sample, m0, 1.0f / r0, m0, m1, noiseDraw);
    }

    private float[] thirdOrderUpdate(float[] sample) {
        AlphaSigma t = AlphaSigma.of(sigmas[stepIndex + 1]);
        AlphaSigma s0 = AlphaSigma.of(sigmas[stepIndex]);
        AlphaSigma s1 = AlphaSigma.of(sigmas[stepIndex - 1]);
        AlphaSigma s2 = AlphaSigma.of(sigmas[stepIndex - 2]);
        float[] m0 = modelOutputs[solverOrder - 1];
        float[] m1 = modelOutputs[solverOrder - 2];
        float[] m2 = modelOutputs[solverOrder - 3];
        float lambdaS0 = s0.lambda();
        float lambdaS1 = s1.lambda();
        float h = t.lambda() - lambdaS0;
        float r0 = (lambdaS0 - lambdaS1) / h;
        float r1 = (lambdaS1 - s2.lambda()) / h;
        float inv0 = 1.0f / r0;
        float inv1 = 1.0f / r1;
        float d1Weight = r0 / (r0 + r1);
        float d2Weight = 1.0f / (r0 + r1);
        DpmSolverMath.ThirdOrder k = DpmSolverMath.ThirdOrder.of(algorithmType, t, s0, h);
        float[] x = new float[sample.length];
        for (int i = 0; i < x.length; i++) {
            float d10 = inv0 * (m0[i] - m1[i]);
            float d11 = inv1 * (m1[i] - m2[i]);
            float diff = d10 - d11;
            float d1 = d10 + d1Weight * diff;
            float d2 = d2Weight * diff;
            x[i] = k.a() * sample[i] - k.b() * m0[i] - k.c() * d1 - k.d() * d2;
        }
        return x;
    }
}
