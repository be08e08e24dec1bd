package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.Set;

/**
 * diffusers 0.25 {@code EulerAncestralDiscreteScheduler} (k-diffusion's {@code sample_euler_ancestral}): an Euler step
 * down to {@code sigma_down}, then fresh noise of scale {@code sigma_up} drawn on every step.
 */
public final class EulerAncestralDiscreteScheduler extends SigmaScheduler {
    public static final Set<String> CONFIG_KEYS = keys("rescale_betas_zero_snr");

    public EulerAncestralDiscreteScheduler(SchedulerConfig config) {
        super(config, EulerDiscreteScheduler.alphasCumprod(config), false);
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        double[] spaced = spacedTimesteps(numInferenceSteps);
        resetSchedule(toFloat32(spaced), Sigmas.withFinalZero(Sigmas.interp(spaced, trainSigmas)));
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        initStepIndex(timestep);
        float sigma = sigmas[stepIndex];
        float[] predOriginal = Sigmas.predOriginalSample(predictionType, modelOutput, sample, sigma);
        float sigmaFrom = sigmas[stepIndex];
        float sigmaTo = sigmas[stepIndex + 1];
        float sigmaUp = (float) Math.sqrt(sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo)
                / (sigmaFrom * sigmaFrom));
        float sigmaDown = (float) Math.sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);
        float[] derivative = Sigmas.derivative(sample, predOriginal, sigma);
        float[] prevSample = Sigmas.eulerStep(sample, derivative, sigmaDown - sigma);
        float[] noise = Sigmas.randn(generator, modelOutput.length);
        for (int i = 0; i < prevSample.length; i++) prevSample[i] = prevSample[i] + noise[i] * sigmaUp;
        stepIndex++;
        return new StepOutput(prevSample, predOriginal);
    }
}
