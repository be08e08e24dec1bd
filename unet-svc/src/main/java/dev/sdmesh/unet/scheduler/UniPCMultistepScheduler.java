package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.unet.scheduler.DpmSolverMath.AlphaSigma;

import java.util.HashSet;
import java.util.Set;

/**
 * diffusers 0.25 {@code UniPCMultistepScheduler} (Zhao et al. 2023): a UniP predictor every step and, from the second
 * step on, a UniC corrector that refines the previous result with the new model output before predicting again.
 * B(h) is {@code h} (bh1) or {@code expm1(h)} (bh2). {@code solver_p} (a foreign predictor) is not supported.
 */
public final class UniPCMultistepScheduler extends ExponentialSolverScheduler {

    public static final Set<String> CONFIG_KEYS = Set.of(
            "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "solver_order",
            "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value", "predict_x0",
            "solver_type", "lower_order_final", "disable_corrector", "solver_p", "use_karras_sigmas",
            "timestep_spacing", "steps_offset");

    private final int solverOrder;
    private final boolean predictX0;
    private final String solverType;
    private final boolean lowerOrderFinal;
    private final Set<Integer> disableCorrector = new HashSet<>();
    private final boolean useKarrasSigmas;
    private final String timestepSpacing;
    private final int stepsOffset;

    private float[][] modelOutputs;
    private int lowerOrderNums;
    private float[] lastSample;
    private int thisOrder;

    public UniPCMultistepScheduler(SchedulerConfig config) {
        super(config);
        this.solverOrder = config.getInt("solver_order", 2);
        this.predictX0 = config.getBoolean("predict_x0", true);
        // diffusers maps the other solvers' names onto bh2
        String solver = config.getString("solver_type", "bh2");
        if (!Set.of("bh1", "bh2", "midpoint", "heun", "logrho").contains(solver)) {
            throw new IllegalArgumentException("solver_type '" + solver + "' is not implemented");
        }
        this.solverType = "bh1".equals(solver) ? "bh1" : "bh2";
        this.lowerOrderFinal = config.getBoolean("lower_order_final", true);
        if (config.has("disable_corrector")) config.raw("disable_corrector").forEach(v -> disableCorrector.add(v.asInt()));
        if (config.has("solver_p")) throw new IllegalArgumentException("solver_p is not supported");
        this.useKarrasSigmas = config.getBoolean("use_karras_sigmas", false);
        this.timestepSpacing = config.getString("timestep_spacing", "linspace");
        this.stepsOffset = config.getInt("steps_offset", 0);
        if (solverOrder < 1) throw new IllegalArgumentException("solver_order must be >= 1, got " + solverOrder);
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        long[] spaced = DpmSolverMath.spacedTimesteps(timestepSpacing, noise.numTrainTimesteps,
                noise.numTrainTimesteps, numInferenceSteps, stepsOffset);
        setSchedule(DpmSolverMath.vpSchedule(noise, spaced, useKarrasSigmas, false));
        this.modelOutputs = new float[solverOrder][];
        this.lowerOrderNums = 0;
        this.lastSample = null;
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        initStepIndex(timestep);
        boolean useCorrector = stepIndex > 0 && !disableCorrector.contains(stepIndex - 1) && lastSample != null;

        float[] converted = predictX0
                ? dataPrediction(modelOutput, sample)
                : DpmSolverMath.noisePrediction(predictionType, modelOutput, sample, AlphaSigma.of(sigmas[stepIndex]));
        float[] current = useCorrector ? corrector(converted) : sample;

        System.arraycopy(modelOutputs, 1, modelOutputs, 0, solverOrder - 1);
        modelOutputs[solverOrder - 1] = converted;

        int order = lowerOrderFinal ? Math.min(solverOrder, timesteps.length - stepIndex) : solverOrder;
        thisOrder = Math.min(order, lowerOrderNums + 1); // warm-up of the multistep history
        lastSample = current;
        float[] prevSample = predictor(current);
        if (lowerOrderNums < solverOrder) lowerOrderNums++;
        stepIndex++;
        return new StepOutput(prevSample, null);
    }

    /** The (r_k, D1_k) history terms of one update: r_k = (lambda_{s_k} - lambda_{s0}) / h, D1_k = (m_k - m0) / r_k. */
    private record History(float[] rks, float[][] d1s) {
    }

    /** The history terms of UniP ({@code sigmaOffset} 0) or UniC (1, one step further back). */
    private History history(int order, int sigmaOffset, float lambdaS0, float h) {
        float[] m0 = modelOutputs[solverOrder - 1];
        float[] rks = new float[order];
        float[][] d1s = new float[order - 1][];
        for (int i = 1; i < order; i++) {
            float[] mi = modelOutputs[solverOrder - 1 - i];
            float lambdaSi = AlphaSigma.of(sigmas[stepIndex - i - sigmaOffset]).lambda();
            float rk = (lambdaSi - lambdaS0) / h;
            rks[i - 1] = rk;
            float[] d1 = new float[m0.length];
            for (int k = 0; k < d1.length; k++) d1[k] = (mi[k] - m0[k]) / rk;
            d1s[i - 1] = d1;
        }
        rks[order - 1] = 1.0f;
        return new History(rks, d1s);
    }

    private float bh(float hh) {
        return "bh1".equals(solverType) ? hh : DpmSolverMath.expm1(hh);
    }

    /**
     * UniPC's linear system as rows {@code [R_i0 .. R_i(order-1) | b_i]}: R_ik = r_k^i and
     * b_i = h phi_{i+1}(h) (i+1)! / B(h), with the phi recursion {@code h_phi_k = h_phi_k / hh - 1 / (k+1)!}.
     */
    private float[][] system(float[] rks, float hh, float bh, int order) {
        float hPhi1 = DpmSolverMath.expm1(hh);
        float hPhiK = hPhi1 / hh - 1;
        float factorial = 1;
        float[][] rb = new float[order][order + 1];
        for (int i = 1; i <= order; i++) {
            for (int k = 0; k < order; k++) rb[i - 1][k] = torchPow(rks[k], i - 1);
            rb[i - 1][order] = hPhiK * factorial / bh;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1 / factorial;
        }
        return rb;
    }

    /** {@code torch.pow(float32, exponent)}: torch multiplies out the exponents 2 and 3, and calls powf for others. */
    private static float torchPow(float base, int exponent) {
        return switch (exponent) {
            case 0 -> 1.0f;
            case 1 -> base;
            case 2 -> base * base;
            case 3 -> base * base * base;
            default -> (float) Math.pow(base, exponent);
        };
    }

    private float[] predictor(float[] x) {
        int order = thisOrder;
        AlphaSigma t = AlphaSigma.of(sigmas[stepIndex + 1]);
        AlphaSigma s0 = AlphaSigma.of(sigmas[stepIndex]);
        float lambdaS0 = s0.lambda();
        float h = t.lambda() - lambdaS0;
        History hist = history(order, 0, lambdaS0, h);
        float hh = predictX0 ? -h : h;
        float hPhi1 = DpmSolverMath.expm1(hh);
        float bh = bh(hh);
        float[] rhosP = null;
        if (order == 2) {
            rhosP = new float[] {0.5f};
        } else if (order > 2) {
            rhosP = solve(system(hist.rks(), hh, bh, order), order - 1);
        }
        float[] m0 = modelOutputs[solverOrder - 1];
        return update(x, m0, t, s0, hPhi1, bh, hist.d1s(), rhosP, null);
    }

    private float[] corrector(float[] modelT) {
        int order = thisOrder;
        AlphaSigma t = AlphaSigma.of(sigmas[stepIndex]);
        AlphaSigma s0 = AlphaSigma.of(sigmas[stepIndex - 1]);
        float lambdaS0 = s0.lambda();
        float h = t.lambda() - lambdaS0;
        History hist = history(order, 1, lambdaS0, h);
        float hh = predictX0 ? -h : h;
        float hPhi1 = DpmSolverMath.expm1(hh);
        float bh = bh(hh);
        float[] rhosC = order == 1 ? new float[] {0.5f} : solve(system(hist.rks(), hh, bh, order), order);
        float[] m0 = modelOutputs[solverOrder - 1];
        float[] d1t = new float[m0.length];
        for (int i = 0; i < d1t.length; i++) d1t[i] = modelT[i] - m0[i];
        return update(lastSample, m0, t, s0, hPhi1, bh, hist.d1s(), rhosC, d1t);
    }

    /**
     * x_t = base - c * (sum_k rho_k D1_k [+ rho_last * D1_t]), base = sigma_t/sigma_s0 x - alpha_t hphi1 m0 (data
     * prediction) or alpha_t/alpha_s0 x - sigma_t hphi1 m0 (noise prediction), c = alpha_t B(h) or sigma_t B(h).
     */
    private float[] update(float[] x, float[] m0, AlphaSigma t, AlphaSigma s0, float hPhi1, float bh,
                           float[][] d1s, float[] rhos, float[] d1t) {
        float a = predictX0 ? t.sigma() / s0.sigma() : t.alpha() / s0.alpha();
        float b = (predictX0 ? t.alpha() : t.sigma()) * hPhi1;
        float c = (predictX0 ? t.alpha() : t.sigma()) * bh;
        int terms = d1s.length;
        float[] out = new float[x.length];
        for (int i = 0; i < out.length; i++) {
            float base = a * x[i] - b * m0[i];
            float res = 0f;
            boolean any = false;
            for (int k = 0; k < terms && rhos != null; k++) {
                res = any ? res + rhos[k] * d1s[k][i] : rhos[k] * d1s[k][i];
                any = true;
            }
            if (d1t != null) {
                float corr = rhos[rhos.length - 1] * d1t[i];
                res = any ? res + corr : corr;
                any = true;
            }
            out[i] = any ? base - c * res : base;
        }
        return out;
    }

    /** torch.linalg.solve of the leading {@code n x n} block of R against the leading {@code n} of b (LU, partial pivoting). */
    private static float[] solve(float[][] rb, int n) {
        double[][] m = new double[n][n + 1];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < n; k++) m[i][k] = rb[i][k];
            m[i][n] = rb[i][rb[i].length - 1];
        }
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
            double[] tmp = m[col];
            m[col] = m[pivot];
            m[pivot] = tmp;
            for (int r = col + 1; r < n; r++) {
                double f = m[r][col] / m[col][col];
                for (int k = col; k <= n; k++) m[r][k] -= f * m[col][k];
            }
        }
        float[] out = new float[n];
        double[] sol = new double[n];
        for (int r = n - 1; r >= 0; r--) {
            double v = m[r][n];
            for (int k = r + 1; k < n; k++) v -= m[r][k] * sol[k];
            sol[r] = v / m[r][r];
            out[r] = (float) sol[r];
        }
        return out;
    }
}
