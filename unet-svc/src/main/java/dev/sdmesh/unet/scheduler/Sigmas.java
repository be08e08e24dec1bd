package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.Arrays;

/**
 * Sigma math shared by diffusers' k-diffusion style schedulers (Euler, Euler a, LMS, Heun, KDPM2, KDPM2 a).
 * Each method states which precision diffusers 0.25 computes in: torch tensors are float32, numpy results of
 * {@code np.interp} and the Karras ramp are float64, and numpy 1.24's value-based casting keeps float32 arrays float32
 * when combined with float64 scalars.
 */
final class Sigmas {
    private static final double KARRAS_RHO = 7.0;

    private Sigmas() {
    }

    /** {@code NoiseSchedule.from(config)} with this scheduler's own {@code beta_start}/{@code beta_end} defaults. */
    static NoiseSchedule noiseSchedule(SchedulerConfig config, double betaStartDefault, double betaEndDefault) {
        SchedulerConfig withDefaults = config;
        if (!config.has("beta_start")) withDefaults = withDefaults.with("beta_start", betaStartDefault);
        if (!config.has("beta_end")) withDefaults = withDefaults.with("beta_end", betaEndDefault);
        return NoiseSchedule.from(withDefaults);
    }

    /** {@code ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5} in float32, ascending with the training timestep. */
    static float[] fromAlphasCumprod(float[] alphasCumprod) {
        float[] sigmas = new float[alphasCumprod.length];
        for (int i = 0; i < sigmas.length; i++) {
            float ac = alphasCumprod[i];
            sigmas[i] = (float) Math.sqrt((1.0f - ac) / ac);
        }
        return sigmas;
    }

    /** {@code np.log} of a float32 array. */
    static float[] log(float[] sigmas) {
        float[] out = new float[sigmas.length];
        for (int i = 0; i < out.length; i++) out[i] = (float) Math.log(sigmas[i]);
        return out;
    }

    /**
     * The inference timesteps for diffusers' {@code timestep_spacing} (float32 values, descending), as the
     * sigma-based schedulers compute them in {@code set_timesteps}.
     */
    static double[] spacedTimesteps(String spacing, int numTrainTimesteps, int numInferenceSteps, int stepsOffset) {
        int n = numInferenceSteps;
        double[] timesteps;
        switch (spacing) {
            case "linspace" -> {
                // np.linspace(0, T-1, n, dtype=float32): i*step in float64, then rounded to float32; endpoint exact.
                timesteps = new double[n];
                double step = n > 1 ? (double) (numTrainTimesteps - 1) / (n - 1) : Double.NaN;
                for (int i = 0; i < n; i++) {
                    double v = n > 1 ? (i == n - 1 ? numTrainTimesteps - 1 : i * step) : 0.0;
                    timesteps[n - 1 - i] = (float) v;
                }
            }
            case "leading" -> {
                int stepRatio = numTrainTimesteps / n;
                timesteps = new double[n];
                for (int i = 0; i < n; i++) timesteps[n - 1 - i] = (float) ((long) i * stepRatio) + (float) stepsOffset;
            }
            case "trailing" -> {
                // np.arange(T, 0, -T/n).round() - 1: numpy sizes the range with ceil and fills start + i*delta.
                double stepRatio = (double) numTrainTimesteps / n;
                int length = (int) Math.ceil((0 - numTrainTimesteps) / -stepRatio);
                double delta = (numTrainTimesteps - stepRatio) - numTrainTimesteps;
                timesteps = new double[length];
                for (int i = 0; i < length; i++) {
                    timesteps[i] = (float) Math.rint(numTrainTimesteps + i * delta) - 1.0f;
                }
            }
            default -> throw new IllegalArgumentException(
                    "timestep_spacing '" + spacing + "' is not one of linspace, leading, trailing");
        }
        return timesteps;
    }

    /** {@code np.interp(x, arange(len(fp)), fp)} in float64, including numpy's exact-hit and end clamping rules. */
    static double[] interp(double[] x, float[] fp) {
        double[] out = new double[x.length];
        int last = fp.length - 1;
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            if (Double.isNaN(v)) {
                out[i] = v;
            } else if (v <= 0) {
                out[i] = fp[0];
            } else if (v >= last) {
                out[i] = fp[last];
            } else {
                int j = (int) Math.floor(v);
                if (j == v) {
                    out[i] = fp[j];
                } else {
                    // xp is arange, so the slope's denominator is 1.
                    double slope = (double) fp[j + 1] - fp[j];
                    out[i] = slope * (v - j) + fp[j];
                }
            }
        }
        return out;
    }

    /**
     * Karras et al. (2022) sigmas with rho 7 in float64 ({@code _convert_to_karras}); {@code sigmaMin}/{@code sigmaMax}
     * default to the last and first input sigma.
     */
    static double[] karras(double[] inSigmas, int numInferenceSteps, Double sigmaMin, Double sigmaMax) {
        double min = sigmaMin != null ? sigmaMin : inSigmas[inSigmas.length - 1];
        double max = sigmaMax != null ? sigmaMax : inSigmas[0];
        double minInvRho = Math.pow(min, 1 / KARRAS_RHO);
        double maxInvRho = Math.pow(max, 1 / KARRAS_RHO);
        double[] out = new double[numInferenceSteps];
        double step = numInferenceSteps > 1 ? 1.0 / (numInferenceSteps - 1) : 0.0;
        for (int i = 0; i < numInferenceSteps; i++) {
            double ramp = numInferenceSteps > 1 && i == numInferenceSteps - 1 ? 1.0 : i * step;
            out[i] = Math.pow(maxInvRho + ramp * (minInvRho - maxInvRho), KARRAS_RHO);
        }
        return out;
    }

    /**
     * {@code _sigma_to_t(sigma, log_sigmas)} for a float64 numpy sigma (Karras schedules). numpy 1.24 casts the float64
     * log sigma down to the float32 {@code log_sigmas} for the distances and the weight; only the final blend of the
     * two integer indices is float64.
     */
    static double sigmaToT(double sigma, float[] logSigmas) {
        float logSigma = (float) Math.log(Math.max(sigma, 1e-10));
        int low = lowIndex(logSigma, logSigmas);
        float w = clamp01((logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[low + 1]));
        return (double) (1.0f - w) * low + (double) w * (low + 1);
    }

    /** {@code _sigma_to_t} for a float32 torch sigma against torch {@code log_sigmas} (KDPM2's interpolated steps). */
    static float sigmaToTFloat32(float sigma, float[] logSigmas) {
        float logSigma = (float) Math.log(Math.max(sigma, 1e-10f));
        int low = lowIndex(logSigma, logSigmas);
        float w = clamp01((logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[low + 1]));
        return (1.0f - w) * low + w * (low + 1);
    }

    /** {@code cumsum(dists >= 0).argmax().clip(max=len-2)}: the last index whose log sigma is <= logSigma, else 0. */
    private static int lowIndex(float logSigma, float[] logSigmas) {
        int low = 0;
        for (int i = 0; i < logSigmas.length; i++) {
            if (logSigma - logSigmas[i] >= 0) low = i;
        }
        return Math.min(low, logSigmas.length - 2);
    }

    private static float clamp01(float w) {
        // np.clip keeps NaN, as does this comparison chain.
        return w < 0 ? 0f : (w > 1 ? 1f : w);
    }

    /** float64 sigmas rounded to float32 with a trailing zero: {@code np.concatenate([sigmas, [0.0]]).astype(float32)}. */
    static float[] withFinalZero(double[] sigmas) {
        float[] out = new float[sigmas.length + 1];
        for (int i = 0; i < sigmas.length; i++) out[i] = (float) sigmas[i];
        return out;
    }

    /** {@code torch.cat([a[:1], a[1:end].repeat_interleave(2), a[-1:]])}, the layout of the 2nd-order schedulers. */
    static float[] interleaveSecondOrder(float[] a, int end) {
        float[] out = new float[2 + 2 * (end - 1)];
        out[0] = a[0];
        for (int i = 1; i < end; i++) {
            out[2 * i - 1] = a[i];
            out[2 * i] = a[i];
        }
        out[out.length - 1] = a[a.length - 1];
        return out;
    }

    /** {@code exp(log(a).lerp(log(b), 0.5))} in float32: the geometric midpoint of two sigmas, as torch computes it. */
    static float logMidpoint(float a, float b) {
        float start = (float) Math.log(a);
        float end = (float) Math.log(b);
        // torch's lerp with weight >= 0.5 evaluates end - (end - start) * (1 - weight).
        return (float) Math.exp(end - (end - start) * 0.5f);
    }

    /** The {@code init_noise_sigma} property: max sigma, or {@code sqrt(max^2 + 1)} for leading spacing. */
    static float initNoiseSigma(float[] sigmas, String spacing) {
        float max = Float.NEGATIVE_INFINITY;
        for (float s : sigmas) {
            if (Float.isNaN(s)) return Float.NaN;
            max = Math.max(max, s);
        }
        if (spacing.equals("linspace") || spacing.equals("trailing")) return max;
        return (float) Math.sqrt(max * max + 1.0f);
    }

    /** {@code sample / ((sigma**2 + 1) ** 0.5)} in float32. */
    static float[] scale(float[] sample, float sigma) {
        float denominator = (float) Math.sqrt(sigma * sigma + 1.0f);
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = sample[i] / denominator;
        return out;
    }

    /**
     * {@code _init_step_index}: the position of {@code timestep} in the schedule. With duplicates (2nd-order schedules,
     * img2img starting mid-schedule) diffusers takes the second occurrence so no sigma is skipped.
     */
    static int indexForTimestep(double[] timesteps, double timestep) {
        int first = -1;
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == timestep) {
                if (first >= 0) return i;
                first = i;
            }
        }
        if (first < 0) {
            throw new IllegalArgumentException("timestep " + timestep + " is not in the schedule "
                    + Arrays.toString(timesteps));
        }
        return first;
    }

    /** {@code original_samples + noise * sigma} in float32. */
    static float[] addNoise(float[] originalSamples, float[] noise, float sigma) {
        float[] out = new float[originalSamples.length];
        for (int i = 0; i < out.length; i++) out[i] = originalSamples[i] + noise[i] * sigma;
        return out;
    }

    /** Rejects a {@code prediction_type} the scheduler does not implement, at construction rather than at the first step. */
    static String predictionType(SchedulerConfig config, boolean supportsSample) {
        String type = config.getString("prediction_type", "epsilon");
        boolean known = type.equals("epsilon") || type.equals("v_prediction") || (supportsSample && type.equals("sample"));
        if (!known) {
            throw new IllegalArgumentException("prediction_type '" + type + "' must be one of epsilon, v_prediction"
                    + (supportsSample ? ", sample" : ""));
        }
        return type;
    }

    /**
     * The denoised estimate x0 at {@code sigma}: epsilon {@code sample - sigma*eps}, v-prediction
     * {@code v * c_out + sample * c_skip} (Karras c_out = -sigma/sqrt(sigma^2+1), c_skip = 1/(sigma^2+1)), or the
     * model output itself for "sample"; float32 as torch evaluates it.
     */
    static float[] predOriginalSample(String predictionType, float[] modelOutput, float[] sample, float sigma) {
        float[] out = new float[sample.length];
        switch (predictionType) {
            case "epsilon" -> {
                for (int i = 0; i < out.length; i++) out[i] = sample[i] - sigma * modelOutput[i];
            }
            case "v_prediction" -> {
                float variance = sigma * sigma + 1.0f;
                float cOut = -sigma / (float) Math.sqrt(variance);
                for (int i = 0; i < out.length; i++) out[i] = modelOutput[i] * cOut + sample[i] / variance;
            }
            case "sample" -> System.arraycopy(modelOutput, 0, out, 0, out.length);
            default -> throw new IllegalArgumentException("prediction_type '" + predictionType + "'");
        }
        return out;
    }

    /** {@code (sample - pred_original_sample) / sigma}: the ODE derivative dx/dsigma, float32. */
    static float[] derivative(float[] sample, float[] predOriginalSample, float sigma) {
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = (sample[i] - predOriginalSample[i]) / sigma;
        return out;
    }

    /** {@code sample + derivative * dt}, float32. */
    static float[] eulerStep(float[] sample, float[] derivative, float dt) {
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = sample[i] + derivative[i] * dt;
        return out;
    }

    /** {@code randn_tensor(model_output.shape, generator=generator)}; the scheduler's noise must be reproducible. */
    static float[] randn(TorchGenerator generator, int n) {
        if (generator == null) {
            throw new IllegalArgumentException("this scheduler draws noise in step(): a generator is required");
        }
        return generator.randn(n);
    }
}
