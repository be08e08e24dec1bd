package dev.sdmesh.unet.scheduler;

import java.util.function.DoubleUnaryOperator;

/**
 * The training noise schedule shared by all schedulers: diffusers' {@code betas}, {@code alphas} and
 * {@code alphas_cumprod} from {@code beta_schedule}, {@code beta_start}, {@code beta_end}, {@code num_train_timesteps},
 * {@code trained_betas} and {@code rescale_betas_zero_snr}. Values are float32 as diffusers holds them.
 */
public final class NoiseSchedule {
    public final int numTrainTimesteps;
    public final float[] betas;
    public final float[] alphas;
    public final float[] alphasCumprod;

    private NoiseSchedule(int numTrainTimesteps, float[] betas) {
        this.numTrainTimesteps = numTrainTimesteps;
        this.betas = betas;
        this.alphas = new float[betas.length];
        for (int i = 0; i < betas.length; i++) alphas[i] = 1.0f - betas[i];
        this.alphasCumprod = cumprod(alphas);
    }

    /** The schedule with the {@code __init__} defaults of DDPM, DDIM, PNDM and most other diffusers schedulers. */
    public static NoiseSchedule from(SchedulerConfig config) {
        return from(config, 0.0001, 0.02, "linear");
    }

    /** The schedule for a scheduler whose {@code __init__} has other defaults (LCM: 0.00085, 0.012, scaled_linear). */
    public static NoiseSchedule from(SchedulerConfig config, double defaultBetaStart, double defaultBetaEnd,
                                     String defaultBetaSchedule) {
        int n = config.getInt("num_train_timesteps", 1000);
        double betaStart = config.getDouble("beta_start", defaultBetaStart);
        double betaEnd = config.getDouble("beta_end", defaultBetaEnd);
        String schedule = config.getString("beta_schedule", defaultBetaSchedule);
        float[] betas;
        double[] trained = config.getDoubleArray("trained_betas");
        if (trained != null) {
            betas = new float[trained.length];
            for (int i = 0; i < trained.length; i++) betas[i] = (float) trained[i];
        } else {
            betas = switch (schedule) {
                case "linear" -> linspaceFloat32(betaStart, betaEnd, n);
                case "scaled_linear" -> {
                    float[] roots = linspaceFloat32(Math.sqrt(betaStart), Math.sqrt(betaEnd), n);
                    for (int i = 0; i < n; i++) roots[i] = roots[i] * roots[i];
                    yield roots;
                }
                case "squaredcos_cap_v2" -> betasForAlphaBar(n, NoiseSchedule::alphaBarCosine);
                default -> throw new IllegalArgumentException(
                        "beta_schedule '" + schedule + "' is not one of linear, scaled_linear, squaredcos_cap_v2");
            };
        }
        if (config.getBoolean("rescale_betas_zero_snr", false)) betas = rescaleZeroTerminalSnr(betas);
        return new NoiseSchedule(n, betas);
    }

    /**
     * torch.linspace(start, end, steps, dtype=float32) as torch's vectorised CPU kernel computes it, so that betas and
     * sigmas match to the bit: blocks of 8 lanes, two blocks per pass, each block based at its first index from the
     * start (first half) or back from the end (second half), lanes added with fused multiply-adds; the elements past
     * the last full pass of 16 take the scalar form, also fused.
     */
    public static float[] linspaceFloat32(double start, double end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = (float) start;
            return out;
        }
        float s = (float) start;
        float e = (float) end;
        float step = (e - s) / (steps - 1);
        int halfway = steps / 2;
        int vectorised = steps - steps % 16;
        for (int block = 0; block < vectorised; block += 8) {
            float base = block < halfway ? Math.fma(step, (float) block, s) : Math.fma(-step, (float) (steps - block - 1), e);
            for (int lane = 0; lane < 8; lane++) out[block + lane] = Math.fma((float) lane, step, base);
        }
        for (int i = vectorised; i < steps; i++) {
            out[i] = i < halfway ? Math.fma(step, (float) i, s) : Math.fma(-step, (float) (steps - i - 1), e);
        }
        return out;
    }

    /** torch.cumprod on float32 CPU tensors accumulates in double and rounds each output to float32. */
    static float[] cumprod(float[] values) {
        float[] out = new float[values.length];
        double acc = 1.0;
        for (int i = 0; i < values.length; i++) {
            acc *= values[i];
            out[i] = (float) acc;
        }
        return out;
    }

    /**
     * The schedule of {@code beta_schedule="exp"}, which of the schedulers only HeunDiscreteScheduler accepts (for
     * Shap-E): {@code betas_for_alpha_bar(n, alpha_transform_type="exp")}, alpha_bar(t) = exp(-12 t).
     */
    static NoiseSchedule exponential(int numTrainTimesteps) {
        return new NoiseSchedule(numTrainTimesteps, betasForAlphaBar(numTrainTimesteps, t -> Math.exp(t * -12.0)));
    }

    /** diffusers' {@code betas_for_alpha_bar} with {@code max_beta=0.999}, in float64, stored as float32. */
    private static float[] betasForAlphaBar(int n, DoubleUnaryOperator alphaBar) {
        float[] betas = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            betas[i] = (float) Math.min(1 - alphaBar.applyAsDouble(t2) / alphaBar.applyAsDouble(t1), 0.999);
        }
        return betas;
    }

    private static double alphaBarCosine(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** diffusers' rescale_zero_terminal_snr (Lin et al. 2023, Algorithm 1). */
    private static float[] rescaleZeroTerminalSnr(float[] betas) {
        int n = betas.length;
        float[] alphasCumprod = cumprod(oneMinus(betas));
        float[] sqrt = new float[n];
        for (int i = 0; i < n; i++) sqrt[i] = (float) Math.sqrt(alphasCumprod[i]);
        float first = sqrt[0];
        float last = sqrt[n - 1];
        // diffusers shifts in place, then multiplies by the precomputed float32 factor.
        float scale = first / (first - last);
        for (int i = 0; i < n; i++) {
            sqrt[i] = (sqrt[i] - last) * scale;
        }
        float[] alphaBar = new float[n];
        for (int i = 0; i < n; i++) alphaBar[i] = sqrt[i] * sqrt[i];
        float[] alphas = new float[n];
        alphas[0] = alphaBar[0];
        for (int i = 1; i < n; i++) alphas[i] = alphaBar[i] / alphaBar[i - 1];
        return oneMinus(alphas);
    }

    private static float[] oneMinus(float[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) out[i] = 1.0f - values[i];
        return out;
    }
}
