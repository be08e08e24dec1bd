package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.unet.scheduler.DpmSolverMath.AlphaSigma;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * diffusers 0.25 {@code DPMSolverSinglestepScheduler} (DPM++ 2S and friends): the steps are grouped by the order
 * list (1, 2, 3, 1, 2, 3, ...); each group restarts from the sample at its first step and uses the model outputs of
 * its own intermediate steps. Timesteps are always linspace, as in 0.25 (no {@code timestep_spacing}).
 */
public final class DPMSolverSinglestepScheduler extends ExponentialSolverScheduler {

    public static final Set<String> CONFIG_KEYS = Set.of(
            "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "solver_order",
            "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value", "algorithm_type",
            "solver_type", "lower_order_final", "use_karras_sigmas", "lambda_min_clipped", "variance_type");

    private final int solverOrder;
    private final String algorithmType;
    private final String solverType;
    private boolean lowerOrderFinal;
    private final boolean useKarrasSigmas;
    private final double lambdaMinClipped;
    private final String varianceType;

    private float[][] modelOutputs;
    private float[] groupSample;
    private int[] orderList;

    public DPMSolverSinglestepScheduler(SchedulerConfig config) {
        super(config);
        this.solverOrder = config.getInt("solver_order", 2);
        String algorithm = config.getString("algorithm_type", "dpmsolver++");
        this.algorithmType = "deis".equals(algorithm) ? "dpmsolver++" : algorithm;
        String solver = config.getString("solver_type", "midpoint");
        this.solverType = Set.of("logrho", "bh1", "bh2").contains(solver) ? "midpoint" : solver;
        this.lowerOrderFinal = config.getBoolean("lower_order_final", true);
        this.useKarrasSigmas = config.getBoolean("use_karras_sigmas", false);
        this.lambdaMinClipped = config.getDouble("lambda_min_clipped", Double.NEGATIVE_INFINITY);
        this.varianceType = config.has("variance_type") ? config.getString("variance_type", null) : null;
        if (!Set.of("dpmsolver", "dpmsolver++").contains(algorithmType)) {
            throw new IllegalArgumentException("algorithm_type '" + algorithm + "' is not implemented");
        }
        if (!Set.of("midpoint", "heun").contains(solverType)) {
            throw new IllegalArgumentException("solver_type '" + solver + "' is not implemented");
        }
        if (solverOrder < 1 || solverOrder > 3) {
            throw new IllegalArgumentException("solver_order must be 1, 2 or 3, got " + solverOrder);
        }
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        int lastTimestep = DpmSolverMath.clippedLastTimestep(noise, lambdaMinClipped);
        long[] spaced = DpmSolverMath.spacedTimesteps(
                "linspace", lastTimestep, noise.numTrainTimesteps, numInferenceSteps, 0);
        setSchedule(DpmSolverMath.vpSchedule(noise, spaced, useKarrasSigmas, false));
        this.modelOutputs = new float[solverOrder][];
        this.groupSample = null;
        // diffusers switches lower_order_final on (for good) when the steps do not split into whole groups
        if (!lowerOrderFinal && numInferenceSteps % solverOrder != 0) lowerOrderFinal = true;
        this.orderList = orderList(numInferenceSteps);
    }

    /**
     * diffusers 0.25's {@code get_order_list}: the solver order of each step. With lower_order_final, order 3 ends on
     * a shortened group ([1, 2, 1] when the steps split evenly); order 2 only shortens an odd count, so an even count
     * keeps its final second-order step (lowering that came with diffusers 0.27).
     */
    private int[] orderList(int steps) {
        List<Integer> orders = new ArrayList<>();
        int groups = steps / solverOrder;
        int remainder = steps % solverOrder;
        boolean endsOnShortGroup = lowerOrderFinal && solverOrder == 3 && remainder == 0;
        int fullGroups = endsOnShortGroup ? groups - 1 : groups;
        for (int g = 0; g < fullGroups; g++) for (int o = 1; o <= solverOrder; o++) orders.add(o);
        if (endsOnShortGroup) {
            orders.addAll(List.of(1, 2, 1));
        } else {
            // setTimesteps turned lower_order_final on unless the steps split into whole groups
            for (int o = 1; o <= remainder; o++) orders.add(o);
        }
        return orders.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        initStepIndex(timestep);
        float[] output = meanOutput(modelOutput, sample, varianceType);
        float[] converted = "dpmsolver++".equals(algorithmType)
                ? dataPrediction(output, sample) : noisePrediction(output, sample);
        System.arraycopy(modelOutputs, 1, modelOutputs, 0, solverOrder - 1);
        modelOutputs[solverOrder - 1] = converted;

        int order = orderList[stepIndex];
        // img2img may start inside a group: fall back to the orders the history allows
        while (modelOutputs[solverOrder - order] == null) order--;
        if (order == 1) groupSample = sample;

        float[] prevSample = switch (order) {
            case 1 -> DpmSolverMath.firstOrderUpdate(algorithmType, AlphaSigma.of(sigmas[stepIndex + 1]),
                    AlphaSigma.of(sigmas[stepIndex]), groupSample, converted, null);
            case 2 -> secondOrderUpdate();
            default -> thirdOrderUpdate();
        };
        stepIndex++;
        return new StepOutput(prevSample, null);
    }

    /** From the group's start s1 (one step back) to t, using the model outputs at s1 and s0. */
    private float[] secondOrderUpdate() {
        AlphaSigma t = AlphaSigma.of(sigmas[stepIndex + 1]);
        AlphaSigma s0 = AlphaSigma.of(sigmas[stepIndex]);
        AlphaSigma s1 = AlphaSigma.of(sigmas[stepIndex - 1]);
        float[] m0 = modelOutputs[solverOrder - 1];
        float[] m1 = modelOutputs[solverOrder - 2];
        float lambdaS1 = s1.lambda();
        float h = t.lambda() - lambdaS1;
        float r0 = (s0.lambda() - lambdaS1) / h;
        return DpmSolverMath.SecondOrder.of(algorithmType, solverType, t, s1, h)
                .apply(groupSample, m1, 1.0f / r0, m0, m1, null);
    }

    /** From the group's start s2 (two steps back) to t, using the model outputs at s2, s1 and s0. */
    private float[] thirdOrderUpdate() {
        AlphaSigma t = AlphaSigma.of(sigmas[stepIndex + 1]);
        AlphaSigma s0 = AlphaSigma.of(sigmas[stepIndex]);
        AlphaSigma s1 = AlphaSigma.of(sigmas[stepIndex - 1]);
        AlphaSigma s2 = AlphaSigma.of(sigmas[stepIndex - 2]);
        float[] m0 = modelOutputs[solverOrder - 1];
        float[] m1 = modelOutputs[solverOrder - 2];
        float[] m2 = modelOutputs[solverOrder - 3];
        float lambdaS2 = s2.lambda();
        float h = t.lambda() - lambdaS2;
        float r0 = (s0.lambda() - lambdaS2) / h;
        float r1 = (s1.lambda() - lambdaS2) / h;
        float inv0 = 1.0f / r0;
        float inv1 = 1.0f / r1;
        float rDiff = r0 - r1;
        boolean midpoint = "midpoint".equals(solverType);
        DpmSolverMath.ThirdOrder k = DpmSolverMath.ThirdOrder.of(algorithmType, t, s2, h);
        float[] x = new float[groupSample.length];
        for (int i = 0; i < x.length; i++) {
            float d10 = inv1 * (m1[i] - m2[i]);
            float d11 = inv0 * (m0[i] - m2[i]);
            float base = k.a() * groupSample[i] - k.b() * m2[i];
            if (midpoint) {
                x[i] = base - k.c() * d11;
            } else {
                float d1 = (r0 * d10 - r1 * d11) / rDiff;
                float d2 = 2.0f * (d11 - d10) / rDiff;
                x[i] = base - k.c() * d1 - k.d() * d2;
            }
        }
        return x;
    }
}
