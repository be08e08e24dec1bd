package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.security.SecureRandom;
import java.util.Set;

/**
 * diffusers 0.25 {@code DPMSolverSDEScheduler} (DPM++ SDE, k-diffusion's {@code sample_dpmpp_sde}): a second-order
 * scheduler whose every step is an ancestral half step to the log-sigma midpoint followed by a full step that reuses
 * the first evaluation; 2n - 1 UNet calls with float64 timesteps.
 *
 * <p>The noise comes from torchsde's Brownian tree ({@link BrownianTreeNoiseSampler}). diffusers' step takes no
 * generator: the tree is seeded with {@code noise_sampler_seed}, else with a random seed from torch's global RNG,
 * which no request controls. Here the seed is {@code noise_sampler_seed}, else the request generator's seed (read,
 * not drawn from, so the generator stream stays where diffusers leaves it), else random. With
 * {@code noise_sampler_seed} set the noise is torchsde's; without it the result is deterministic per request seed but
 * cannot match a diffusers run, whose seed is unknowable.
 */
public final class DPMSolverSDEScheduler extends SigmaScheduler {

    public static final Set<String> CONFIG_KEYS = keys("use_karras_sigmas", "noise_sampler_seed");

    private final boolean useKarrasSigmas;
    private final Long noiseSamplerSeed;

    private BrownianTreeNoiseSampler noiseSampler;
    /** The first-order state: the sample the step started from, and the midpoint sigma (null in first order). */
    private float[] firstOrderSample;
    private Float midPointSigma;

    public DPMSolverSDEScheduler(SchedulerConfig config) {
        // DPMSolverSDEScheduler has no rescale_betas_zero_snr; diffusers ignores the key if a shared config carries it.
        super(config, Sigmas.noiseSchedule(config.with("rescale_betas_zero_snr", false), 0.00085, 0.012).alphasCumprod,
                false);
        this.useKarrasSigmas = config.getBoolean("use_karras_sigmas", false);
        this.noiseSamplerSeed = config.has("noise_sampler_seed") ? config.raw("noise_sampler_seed").asLong() : null;
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        // diffusers spaces this scheduler in float64 (np.linspace(..., dtype=float)), unlike Euler's float32
        double[] spaced = "linspace".equals(timestepSpacing)
                ? linspaceDescending(numTrainTimesteps - 1, numInferenceSteps)
                : spacedTimesteps(numInferenceSteps);
        double[] sigmas = Sigmas.interp(spaced, trainSigmas);
        double[] timesteps = spaced;
        if (useKarrasSigmas) {
            sigmas = Sigmas.karras(sigmas, numInferenceSteps, null, null);
            timesteps = new double[sigmas.length];
            for (int i = 0; i < sigmas.length; i++) timesteps[i] = Sigmas.sigmaToT(sigmas[i], logSigmas);
        }
        double[] midpoints = secondOrderTimesteps(sigmas);

        int n = timesteps.length;
        double[] interleaved = new double[2 * n - 1];
        interleaved[0] = timesteps[0];
        for (int i = 1; i < n; i++) {
            interleaved[2 * i - 1] = midpoints[i - 1];
            interleaved[2 * i] = timesteps[i];
        }
        float[] withZero = Sigmas.withFinalZero(sigmas);
        resetSchedule(interleaved, Sigmas.interleaveSecondOrder(withZero, withZero.length - 1));
        this.noiseSampler = null;
        this.firstOrderSample = null;
        this.midPointSigma = null;
    }

    /** {@code np.linspace(0, last, n, dtype=float)[::-1]}. */
    private static double[] linspaceDescending(double last, int n) {
        double[] out = new double[n];
        double step = n > 1 ? last / (n - 1) : 0.0;
        for (int i = 0; i < n; i++) out[n - 1 - i] = n > 1 && i == n - 1 ? last : i * step;
        return out;
    }

    /** diffusers' {@code _second_order_timesteps}: the timestep of each log-sigma midpoint, in float64. */
    private double[] secondOrderTimesteps(double[] sigmas) {
        double[] out = new double[sigmas.length - 1];
        for (int i = 0; i < out.length; i++) {
            double t = -Math.log(sigmas[i]);
            double tNext = -Math.log(sigmas[i + 1]);
            double proposed = t + (tNext - t) * 0.5;
            out[i] = Sigmas.sigmaToT(Math.exp(-proposed), logSigmas);
        }
        return out;
    }

    @Override
    public int order() {
        return 2;
    }

    private boolean stateInFirstOrder() {
        return firstOrderSample == null;
    }

    @Override
    public float[] scaleModelInput(float[] sample, double timestep) {
        initStepIndex(timestep);
        return Sigmas.scale(sample, stateInFirstOrder() ? sigmas[stepIndex] : midPointSigma);
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        initStepIndex(timestep);
        if (noiseSampler == null) noiseSampler = newNoiseSampler(sample.length, generator);

        boolean firstOrder = stateInFirstOrder();
        float sigma = firstOrder ? sigmas[stepIndex] : sigmas[stepIndex - 1];
        float sigmaNext = firstOrder ? sigmas[stepIndex + 1] : sigmas[stepIndex];

        float t = tFn(sigma);
        float tNext = tFn(sigmaNext);
        float tProposed = t + (tNext - t) * 0.5f;
        float sigmaInput = firstOrder ? sigma : sigmaFn(tProposed);
        float[] predOriginal = Sigmas.predOriginalSample(predictionType, modelOutput, sample, sigmaInput);

        float[] prevSample;
        if (sigmaNext == 0) {
            prevSample = Sigmas.eulerStep(sample, Sigmas.derivative(sample, predOriginal, sigma), sigmaNext - sigma);
        } else {
            float target = firstOrder ? tProposed : tNext;
            float[] from = firstOrder ? sample : firstOrderSample;
            float sigmaFrom = sigmaFn(t);
            float sigmaTo = sigmaFn(target);
            float up = (float) Math.sqrt(sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo)
                    / (sigmaFrom * sigmaFrom));
            float sigmaUp = Math.min(sigmaTo, up);
            float sigmaDown = (float) Math.sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);
            float ancestralT = tFn(sigmaDown);
            float a = sigmaFn(ancestralT) / sigmaFn(t);
            float b = (float) Math.expm1(t - ancestralT);
            float[] noise = noiseSampler.sample(sigmaFn(t), sigmaFn(target));
            prevSample = new float[sample.length];
            for (int i = 0; i < prevSample.length; i++) {
                float x = a * from[i] - b * predOriginal[i];
                prevSample[i] = x + noise[i] * 1.0f * sigmaUp;
            }
            if (firstOrder) {
                firstOrderSample = from;
                midPointSigma = sigmaFn(target);
            } else {
                firstOrderSample = null;
                midPointSigma = null;
            }
        }
        stepIndex++;
        // diffusers' SchedulerOutput for this scheduler carries prev_sample only
        return new StepOutput(prevSample, null);
    }

    private BrownianTreeNoiseSampler newNoiseSampler(int size, TorchGenerator generator) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (float s : sigmas) {
            if (s > 0) min = Math.min(min, s);
            max = Math.max(max, s);
        }
        long seed = noiseSamplerSeed != null ? noiseSamplerSeed
                : generator != null ? generator.seed()
                : new SecureRandom().nextLong() & Long.MAX_VALUE;
        return new BrownianTreeNoiseSampler(size, min, max, seed);
    }

    /** {@code t = -log(sigma)} on a float32 tensor. */
    private static float tFn(float sigma) {
        return -(float) Math.log(sigma);
    }

    /** {@code sigma = exp(-t)} on a float32 tensor. */
    private static float sigmaFn(float t) {
        return (float) Math.exp(-t);
    }
}
