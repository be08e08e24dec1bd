package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.Set;

/**
 * diffusers 0.25 {@code KDPM2DiscreteScheduler} (k-diffusion's {@code sample_dpm_2}): each sigma step evaluates the
 * model at sigma and at the geometric midpoint towards the next sigma, so the schedule is
 * {@code [t0, t_mid1, t1, t_mid2, t2, ...]} with {@code 2n - 1} UNet calls; the last step is plain Euler.
 */
public final class KDPM2DiscreteScheduler extends SigmaScheduler {
    public static final Set<String> CONFIG_KEYS = keys("use_karras_sigmas");

    /** Null when {@code use_karras_sigmas} is off. */
    private final KarrasBounds karrasBounds;
    private float[] sigmasInterpol;
    /** The sample of the first-order half step; null while in first-order mode. */
    private float[] firstOrderSample;

    public KDPM2DiscreteScheduler(SchedulerConfig config) {
        super(config, alphasCumprodWithoutZeroSnr(config, 0.00085, 0.012), false);
        this.karrasBounds = config.getBoolean("use_karras_sigmas", false) ? KarrasBounds.of(config) : null;
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        BaseSchedule base = baseSchedule(numInferenceSteps, karrasBounds, true);
        float[] s = base.sigmas();
        int len = s.length;
        // sigmas.log().lerp(sigmas.roll(1).log(), 0.5).exp(): the midpoint between each sigma and the one before it
        // (entry 0 wraps around to the final 0 and is never used).
        float[] interpol = new float[len];
        for (int i = 0; i < len; i++) interpol[i] = Sigmas.logMidpoint(s[i], s[(i + len - 1) % len]);
        double[] t = base.timesteps();
        double[] interleaved = new double[2 * t.length - 1];
        interleaved[0] = t[0];
        for (int i = 1; i < t.length; i++) {
            interleaved[2 * i - 1] = Sigmas.sigmaToTFloat32(interpol[i], logSigmas);
            interleaved[2 * i] = t[i];
        }
        sigmasInterpol = Sigmas.interleaveSecondOrder(interpol, len);
        resetSchedule(interleaved, Sigmas.interleaveSecondOrder(s, len));
        firstOrderSample = null;
    }

    @Override
    public int order() {
        return 2;
    }

    @Override
    public float[] scaleModelInput(float[] sample, double timestep) {
        initStepIndex(timestep);
        float sigma = firstOrderSample == null ? sigmas[stepIndex] : sigmasInterpol[stepIndex];
        return Sigmas.scale(sample, sigma);
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        initStepIndex(timestep);
        boolean firstOrder = firstOrderSample == null;
        float sigma = firstOrder ? sigmas[stepIndex] : sigmas[stepIndex - 1];
        float sigmaInterpol = firstOrder ? sigmasInterpol[stepIndex + 1] : sigmasInterpol[stepIndex];
        float sigmaNext = firstOrder ? sigmas[stepIndex + 1] : sigmas[stepIndex];
        // Only gamma = 0 is implemented by diffusers, so sigma_hat is sigma.
        float sigmaHat = sigma;
        float sigmaInput = firstOrder ? sigmaHat : sigmaInterpol;
        float[] predOriginal = Sigmas.predOriginalSample(predictionType, modelOutput, sample, sigmaInput);
        float[] prevSample;
        if (firstOrder) {
            float[] derivative = Sigmas.derivative(sample, predOriginal, sigmaHat);
            prevSample = Sigmas.eulerStep(sample, derivative, sigmaInterpol - sigmaHat);
            firstOrderSample = sample;
        } else {
            // DPM-Solver-2: the whole step from sigma uses the slope at the midpoint.
            float[] derivative = Sigmas.derivative(sample, predOriginal, sigmaInterpol);
            prevSample = Sigmas.eulerStep(firstOrderSample, derivative, sigmaNext - sigmaHat);
            firstOrderSample = null;
        }
        stepIndex++;
        return new StepOutput(prevSample, predOriginal);
    }
}
