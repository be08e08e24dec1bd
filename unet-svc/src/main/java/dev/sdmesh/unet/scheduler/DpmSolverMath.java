package dev.sdmesh.unet.scheduler;

/**
 * Math shared by the VP-type exponential-integrator solvers (DPM-Solver multistep/singlestep, DEIS, UniPC) as
 * diffusers 0.25 writes it: the int64 timestep spacings, the sigma schedule with its final sigma, the
 * sigma → (alpha_t, sigma_t, lambda_t) conversion, the model-output conversions and the DPM-Solver update
 * coefficients. The sigma math they share with the Euler family (Karras sigmas, sigma → t, interpolation) is
 * {@link Sigmas}'.
 *
 * <p>Precision follows diffusers: the schedule is built with numpy in float64 from float32 training sigmas and stored
 * as float32; every per-step scalar ({@code alpha_t}, {@code h}, {@code exp(-h)}, ...) is a 0-d float32 torch tensor,
 * so those are computed here in {@code float}, one rounding per torch operation, in diffusers' operation order.
 */
final class DpmSolverMath {

    private DpmSolverMath() {
    }

    /**
     * diffusers' {@code lambda_min_clipped} handling: {@code num_train_timesteps - searchsorted(flip(lambda_t), clip)}
     * with {@code lambda_t = log(sqrt(alphas_cumprod)) - log(sqrt(1 - alphas_cumprod))} in float32.
     */
    static int clippedLastTimestep(NoiseSchedule schedule, double lambdaMinClipped) {
        float[] ac = schedule.alphasCumprod;
        int below = 0; // searchsorted(left) on the ascending flipped lambda_t: how many are < the clip value
        for (float a : ac) {
            float alphaT = (float) Math.sqrt(a);
            float sigmaT = (float) Math.sqrt(1.0f - a);
            float lambdaT = (float) Math.log(alphaT) - (float) Math.log(sigmaT);
            if (lambdaT < (float) lambdaMinClipped) below++;
        }
        return schedule.numTrainTimesteps - below;
    }

    /**
     * The int64 timesteps of the solvers' {@code set_timesteps}: {@code linspace(0, last - 1, n + 1).round()[::-1][:-1]},
     * {@code leading} ({@code arange(n + 1) * (last // (n + 1))}, reversed, last dropped, plus {@code steps_offset}) or
     * {@code trailing} ({@code arange(last, 0, -num_train / n).round() - 1}).
     */
    static long[] spacedTimesteps(String spacing, int lastTimestep, int numTrainTimesteps, int n, int stepsOffset) {
        switch (spacing) {
            case "linspace" -> {
                double step = (double) (lastTimestep - 1) / n;
                long[] out = new long[n];
                // numpy linspace is i * step with the endpoint pinned; index n (the endpoint) is the one dropped
                for (int k = 0; k < n; k++) out[k] = (long) Math.rint((n - k) * step);
                if (n > 0) out[0] = (long) Math.rint(lastTimestep - 1);
                return out;
            }
            case "leading" -> {
                long ratio = lastTimestep / (n + 1);
                long[] out = new long[n];
                for (int k = 0; k < n; k++) out[k] = (n - k) * ratio + stepsOffset;
                return out;
            }
            case "trailing" -> {
                double ratio = (double) numTrainTimesteps / n;
                double delta = (lastTimestep - ratio) - lastTimestep; // numpy arange fills start + i * (a[1] - a[0])
                int length = (int) Math.ceil((0 - lastTimestep) / -ratio);
                long[] out = new long[length];
                for (int i = 0; i < length; i++) out[i] = (long) Math.rint(lastTimestep + i * delta) - 1;
                return out;
            }
            default -> throw new IllegalArgumentException(
                    "timestep_spacing '" + spacing + "' is not one of linspace, leading, trailing");
        }
    }

    /** diffusers' {@code _convert_to_lu}: log-sigmas uniform between the extremes (rho = 1), exponentiated. */
    static double[] luSigmas(double logSigmaMin, double logSigmaMax, int n) {
        double[] ramp = linspace01(n);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = Math.exp(logSigmaMax + ramp[i] * (logSigmaMin - logSigmaMax));
        return out;
    }

    /** {@code np.linspace(0, 1, n)}. */
    private static double[] linspace01(int n) {
        double[] ramp = new double[n];
        if (n == 1) return ramp;
        double step = 1.0 / (n - 1);
        for (int i = 0; i < n; i++) ramp[i] = i * step;
        ramp[n - 1] = 1.0;
        return ramp;
    }

    /**
     * The inference schedule of the 0.25 solvers' {@code set_timesteps}: timesteps and {@code n + 1} float32 sigmas.
     * Karras and Lu schedules repeat their last sigma; the plain schedule ends at the training {@code sigma_min}
     * (0.25 has no {@code final_sigmas_type}).
     */
    static Schedule vpSchedule(NoiseSchedule noise, long[] spacedTimesteps, boolean karras, boolean lu) {
        float[] train = Sigmas.fromAlphasCumprod(noise.alphasCumprod);
        float[] logSigmas = Sigmas.log(train);
        int n = spacedTimesteps.length;
        long[] timesteps = spacedTimesteps;
        double[] sigmas;
        double last;
        if (karras || lu) {
            double[] flipped = new double[train.length];
            for (int i = 0; i < train.length; i++) flipped[i] = train[train.length - 1 - i];
            sigmas = karras
                    ? Sigmas.karras(flipped, n, null, null)
                    : luSigmas(logSigmas[0], logSigmas[logSigmas.length - 1], n);
            timesteps = new long[n];
            for (int i = 0; i < n; i++) timesteps[i] = (long) Math.rint(Sigmas.sigmaToT(sigmas[i], logSigmas));
            last = sigmas[n - 1];
        } else {
            double[] at = new double[n];
            for (int i = 0; i < n; i++) at[i] = timesteps[i];
            sigmas = Sigmas.interp(at, train);
            last = train[0];
        }
        float[] out = new float[n + 1];
        for (int i = 0; i < n; i++) out[i] = (float) sigmas[i];
        out[n] = (float) last;
        return new Schedule(timesteps, out);
    }

    /** The timesteps (int64) and sigmas (float32, one more than timesteps) of one {@code set_timesteps} call. */
    record Schedule(long[] timesteps, float[] sigmas) {
        double[] timestepsAsDouble() {
            double[] out = new double[timesteps.length];
            for (int i = 0; i < out.length; i++) out[i] = timesteps[i];
            return out;
        }
    }

    /**
     * The solvers' {@code index_for_timestep}: the second match when the timestep repeats (so img2img that starts
     * mid-schedule does not skip a sigma), the only match otherwise, and the last index when it is absent.
     */
    static int indexForTimestep(long[] schedule, double timestep) {
        int first = -1;
        for (int i = 0; i < schedule.length; i++) {
            if (schedule[i] == timestep) {
                if (first >= 0) return i;
                first = i;
            }
        }
        return first >= 0 ? first : schedule.length - 1;
    }

    /** {@code _sigma_to_alpha_sigma_t} plus {@code lambda = log(alpha_t) - log(sigma_t)}, all float32. */
    record AlphaSigma(float alpha, float sigma) {
        static AlphaSigma of(float sigma) {
            float alpha = 1.0f / (float) Math.sqrt(sigma * sigma + 1.0f);
            return new AlphaSigma(alpha, sigma * alpha);
        }

        float lambda() {
            return log(alpha) - log(sigma);
        }
    }

    static float exp(float x) {
        return (float) Math.exp(x);
    }

    static float log(float x) {
        return (float) Math.log(x);
    }

    static float expm1(float x) {
        return (float) Math.expm1(x);
    }

    /** x0 from the model output for {@code prediction_type} epsilon / sample / v_prediction. */
    static float[] dataPrediction(String predictionType, float[] modelOutput, float[] sample, AlphaSigma as) {
        float[] x0 = new float[sample.length];
        switch (predictionType) {
            case "epsilon" -> {
                for (int i = 0; i < x0.length; i++) x0[i] = (sample[i] - as.sigma * modelOutput[i]) / as.alpha;
            }
            case "sample" -> System.arraycopy(modelOutput, 0, x0, 0, x0.length);
            case "v_prediction" -> {
                for (int i = 0; i < x0.length; i++) x0[i] = as.alpha * sample[i] - as.sigma * modelOutput[i];
            }
            default -> throw unknownPrediction(predictionType);
        }
        return x0;
    }

    /** epsilon from the model output for {@code prediction_type} epsilon / sample / v_prediction. */
    static float[] noisePrediction(String predictionType, float[] modelOutput, float[] sample, AlphaSigma as) {
        float[] eps = new float[sample.length];
        switch (predictionType) {
            case "epsilon" -> System.arraycopy(modelOutput, 0, eps, 0, eps.length);
            case "sample" -> {
                for (int i = 0; i < eps.length; i++) eps[i] = (sample[i] - as.alpha * modelOutput[i]) / as.sigma;
            }
            case "v_prediction" -> {
                for (int i = 0; i < eps.length; i++) eps[i] = as.alpha * modelOutput[i] + as.sigma * sample[i];
            }
            default -> throw unknownPrediction(predictionType);
        }
        return eps;
    }

    /** {@code (sample - alpha_t * x0) / sigma_t}: epsilon from a (possibly thresholded) data prediction. */
    static float[] noiseFromData(float[] x0, float[] sample, AlphaSigma as) {
        float[] eps = new float[sample.length];
        for (int i = 0; i < eps.length; i++) eps[i] = (sample[i] - as.alpha * x0[i]) / as.sigma;
        return eps;
    }

    private static IllegalArgumentException unknownPrediction(String predictionType) {
        return new IllegalArgumentException(
                "prediction_type '" + predictionType + "' is not one of epsilon, sample, v_prediction");
    }

    /**
     * DPM-Solver's first-order update (DDIM in lambda) from sigma {@code s} to sigma {@code t}; {@code noise} is the
     * SDE variants' draw, unused (may be null) otherwise.
     */
    static float[] firstOrderUpdate(String algorithmType, AlphaSigma t, AlphaSigma s, float[] sample, float[] m0,
                                    float[] noise) {
        float h = t.lambda() - s.lambda();
        float[] x = new float[sample.length];
        switch (algorithmType) {
            case "dpmsolver++" -> {
                float a = t.sigma / s.sigma;
                float b = t.alpha * (exp(-h) - 1.0f);
                for (int i = 0; i < x.length; i++) x[i] = a * sample[i] - b * m0[i];
            }
            case "dpmsolver" -> {
                float a = t.alpha / s.alpha;
                float b = t.sigma * (exp(h) - 1.0f);
                for (int i = 0; i < x.length; i++) x[i] = a * sample[i] - b * m0[i];
            }
            case "sde-dpmsolver++" -> {
                float a = t.sigma / s.sigma * exp(-h);
                float b = t.alpha * (1 - exp(-2.0f * h));
                float c = t.sigma * (float) Math.sqrt(1.0f - exp(-2 * h));
                for (int i = 0; i < x.length; i++) x[i] = a * sample[i] + b * m0[i] + c * noise[i];
            }
            case "sde-dpmsolver" -> {
                float a = t.alpha / s.alpha;
                float b = 2.0f * (t.sigma * (exp(h) - 1.0f));
                float c = t.sigma * (float) Math.sqrt(exp(2 * h) - 1.0f);
                for (int i = 0; i < x.length; i++) x[i] = a * sample[i] - b * m0[i] + c * noise[i];
            }
            default -> throw new IllegalArgumentException("algorithm_type '" + algorithmType + "'");
        }
        return x;
    }

    /**
     * The coefficients of a second-order update {@code x_t = a * x_s - b * D0 - c * D1 + e * noise} from sigma
     * {@code s} to {@code t} with step {@code h} in lambda, grouped as diffusers groups each product (so the float32
     * roundings match); negated where diffusers adds the term.
     */
    record SecondOrder(float a, float b, float c, float e) {
        static SecondOrder of(String algorithmType, String solverType, AlphaSigma t, AlphaSigma s, float h) {
            boolean midpoint = "midpoint".equals(solverType);
            switch (algorithmType) {
                case "dpmsolver++" -> {
                    float em1 = exp(-h) - 1.0f;
                    float c = midpoint ? 0.5f * (t.alpha * em1) : -(t.alpha * (em1 / h + 1.0f));
                    return new SecondOrder(t.sigma / s.sigma, t.alpha * em1, c, 0f);
                }
                case "dpmsolver" -> {
                    float em1 = exp(h) - 1.0f;
                    float c = midpoint ? 0.5f * (t.sigma * em1) : t.sigma * (em1 / h - 1.0f);
                    return new SecondOrder(t.alpha / s.alpha, t.sigma * em1, c, 0f);
                }
                case "sde-dpmsolver++" -> {
                    float one = 1 - exp(-2.0f * h);
                    float c = midpoint ? -(0.5f * (t.alpha * one))
                            : -(t.alpha * ((1.0f - exp(-2.0f * h)) / (-2.0f * h) + 1.0f));
                    return new SecondOrder(t.sigma / s.sigma * exp(-h), -(t.alpha * one), c,
                            t.sigma * (float) Math.sqrt(1.0f - exp(-2 * h)));
                }
                case "sde-dpmsolver" -> {
                    float em1 = exp(h) - 1.0f;
                    float c = midpoint ? t.sigma * em1 : 2.0f * (t.sigma * (em1 / h - 1.0f));
                    return new SecondOrder(t.alpha / s.alpha, 2.0f * (t.sigma * em1), c,
                            t.sigma * (float) Math.sqrt(exp(2 * h) - 1.0f));
                }
                default -> throw new IllegalArgumentException("algorithm_type '" + algorithmType + "'");
            }
        }

        /** x_t with D1 = d1Scale * (m0 - m1); {@code noise} only for the SDE variants. */
        float[] apply(float[] sample, float[] d0, float d1Scale, float[] m0, float[] m1, float[] noise) {
            float[] x = new float[sample.length];
            for (int i = 0; i < x.length; i++) {
                float d1 = d1Scale * (m0[i] - m1[i]);
                float v = a * sample[i] - b * d0[i] - c * d1;
                x[i] = noise == null ? v : v + e * noise[i];
            }
            return x;
        }
    }

    /**
     * The coefficients of a third-order update {@code x_t = a * x_s - b * D0 - c * D1 - d * D2} (DPM-Solver and
     * DPM-Solver++ only), grouped and signed like {@link SecondOrder}.
     */
    record ThirdOrder(float a, float b, float c, float d) {
        static ThirdOrder of(String algorithmType, AlphaSigma t, AlphaSigma s, float h) {
            switch (algorithmType) {
                case "dpmsolver++" -> {
                    float em1 = exp(-h) - 1.0f;
                    return new ThirdOrder(t.sigma / s.sigma, t.alpha * em1, -(t.alpha * (em1 / h + 1.0f)),
                            t.alpha * ((exp(-h) - 1.0f + h) / (h * h) - 0.5f));
                }
                case "dpmsolver" -> {
                    float em1 = exp(h) - 1.0f;
                    return new ThirdOrder(t.alpha / s.alpha, t.sigma * em1, t.sigma * (em1 / h - 1.0f),
                            t.sigma * ((exp(h) - 1.0f - h) / (h * h) - 0.5f));
                }
                default -> throw new IllegalArgumentException("diffusers has no third-order " + algorithmType);
            }
        }
    }
}
