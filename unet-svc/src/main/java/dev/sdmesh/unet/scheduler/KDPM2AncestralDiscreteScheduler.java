package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.Set;

/**
 * diffusers 0.25 {@code KDPM2AncestralDiscreteScheduler} (k-diffusion's {@code sample_dpm_2_ancestral}): DPM-Solver-2
 * down to the ancestral {@code sigma_down} through its geometric midpoint, then noise of scale {@code sigma_up}.
 * {@code 2n - 1} UNet calls, {@code [t0, t_mid0, t1, t_mid1, ...]}; noise is drawn on every call and added after
 * each second-order half step.
 */
public final class KDPM2AncestralDiscreteScheduler extends SigmaScheduler {
    public static final Set<String> CONFIG_KEYS = keys("use_karras_sigmas");

    /** Null when {@code use_karras_sigmas} is off. */
    private final KarrasBounds karrasBounds;
    private float[] sigmasInterpol;
    private float[] sigmasUp;
    private float[] sigmasDown;
    /** The sample of the first-order half step; null while in first-order mode. */
    private float[] firstOrderSample;

    public KDPM2AncestralDiscreteScheduler(SchedulerConfig config) {
        super(config, alphasCumprodWithoutZeroSnr(config, 0.00085, 0.012), false);
        this.karrasBounds = config.getBoolean("use_karras_sigmas", false) ? KarrasBounds.of(config) : null;
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        BaseSchedule base = baseSchedule(numInferenceSteps, karrasBounds, true);
        float[] s = base.sigmas();
        int len = s.length;
        float[] up = new float[len];
        float[] down = new float[len];
        float[] interpol = new float[len];
        for (int i = 0; i < len; i++) {
            float next = i + 1 < len ? s[i + 1] : 0f;
            up[i] = (float) Math.sqrt(next * next * (s[i] * s[i] - next * next) / (s[i] * s[i]));
            down[i] = i + 1 < len ? (float) Math.sqrt(next * next - up[i] * up[i]) : 0f;
            // The last two midpoints (towards sigma_down = 0) are set to 0 by diffusers.
            interpol[i] = i < len - 2 ? Sigmas.logMidpoint(s[i], down[i]) : 0f;
        }
        double[] t = base.timesteps();
        double[] interleaved = new double[2 * t.length - 1];
        interleaved[0] = t[0];
        for (int i = 1; i < t.length; i++) {
            interleaved[2 * i - 1] = Sigmas.sigmaToTFloat32(interpol[i - 1], logSigmas);
            interleaved[2 * i] = t[i];
        }
        sigmasInterpol = Sigmas.interleaveSecondOrder(interpol, len);
        sigmasUp = Sigmas.interleaveSecondOrder(up, len);
        sigmasDown = Sigmas.interleaveSecondOrder(down, len);
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
        float sigma = firstOrderSample == null ? sigmas[stepIndex] : sigmasInterpol[stepIndex - 1];
        return Sigmas.scale(sample, sigma);
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        initStepIndex(timestep);
        boolean firstOrder = firstOrderSample == null;
        float sigma = firstOrder ? sigmas[stepIndex] : sigmas[stepIndex - 1];
        float sigmaInterpol = firstOrder ? sigmasInterpol[stepIndex] : sigmasInterpol[stepIndex - 1];
        // Only gamma = 0 is implemented by diffusers, so sigma_hat is sigma.
        float sigmaHat = sigma;
        // Drawn before the branch, so also on first-order calls where it is not used.
        float[] noise = Sigmas.randn(generator, modelOutput.length);
        float sigmaInput = firstOrder ? sigmaHat : sigmaInterpol;
        float[] predOriginal = Sigmas.predOriginalSample(predictionType, modelOutput, sample, sigmaInput);
        float[] prevSample;
        if (firstOrder) {
            float[] derivative = Sigmas.derivative(sample, predOriginal, sigmaHat);
            prevSample = Sigmas.eulerStep(sample, derivative, sigmaInterpol - sigmaHat);
            firstOrderSample = sample;
        } else {
            float sigmaUp = sigmasUp[stepIndex - 1];
            float sigmaDown = sigmasDown[stepIndex - 1];
            float[] derivative = Sigmas.derivative(sample, predOriginal, sigmaInterpol);
            prevSample = Sigmas.eulerStep(firstOrderSample, derivative, sigmaDown - sigmaHat);
            for (int i = 0; i < prevSample.length; i++) prevSample[i] = prevSample[i] + noise[i] * sigmaUp;
            firstOrderSample = null;
        }
        stepIndex++;
        return new StepOutput(prevSample, predOriginal);
    }
}
