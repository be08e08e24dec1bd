package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Set;

/**
 * diffusers 0.25 {@code LMSDiscreteScheduler}: k-diffusion's linear multistep sampler. Each step combines the last
 * (up to 4) ODE derivatives with coefficients that integrate their Lagrange basis polynomials over the sigma step.
 * With Karras sigmas the timesteps stay float64, as diffusers leaves them.
 */
public final class LMSDiscreteScheduler extends SigmaScheduler {
    public static final Set<String> CONFIG_KEYS = keys("use_karras_sigmas");
    /** diffusers' default {@code order} argument of {@code step}. */
    private static final int ORDER = 4;
    /** Gauss-Legendre nodes and weights on [-1, 1]; 3 points integrate the degree <= 3 basis polynomials exactly. */
    private static final double[] GAUSS_NODES = {-Math.sqrt(0.6), 0.0, Math.sqrt(0.6)};
    private static final double[] GAUSS_WEIGHTS = {5.0 / 9, 8.0 / 9, 5.0 / 9};

    private final boolean useKarrasSigmas;
    /** Newest first, at most {@link #ORDER}. */
    private final Deque<float[]> derivatives = new ArrayDeque<>();

    public LMSDiscreteScheduler(SchedulerConfig config) {
        super(config, Sigmas.noiseSchedule(config, 0.0001, 0.02).alphasCumprod, true);
        this.useKarrasSigmas = config.getBoolean("use_karras_sigmas", false);
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        BaseSchedule base = baseSchedule(numInferenceSteps, useKarrasSigmas, false);
        resetSchedule(base.timesteps(), base.sigmas());
        derivatives.clear();
    }

    @Override
    public StepOutput step(float[] modelOutput, double timestep, float[] sample, TorchGenerator generator) {
        initStepIndex(timestep);
        float sigma = sigmas[stepIndex];
        float[] predOriginal = Sigmas.predOriginalSample(predictionType, modelOutput, sample, sigma);
        derivatives.addFirst(Sigmas.derivative(sample, predOriginal, sigma));
        if (derivatives.size() > ORDER) derivatives.removeLast();

        int order = Math.min(stepIndex + 1, ORDER);
        // Python's sum() starts from 0 and adds coefficient * derivative, newest derivative first, in float32. Its
        // zip() stops at the shorter list: an img2img run starting mid-schedule has fewer derivatives than order.
        float[] sum = new float[sample.length];
        Iterator<float[]> newestFirst = derivatives.iterator();
        for (int currentOrder = 0; currentOrder < order && newestFirst.hasNext(); currentOrder++) {
            float coefficient = (float) lmsCoefficient(order, stepIndex, currentOrder);
            float[] derivative = newestFirst.next();
            for (int i = 0; i < sum.length; i++) sum[i] = sum[i] + coefficient * derivative[i];
        }
        float[] prevSample = new float[sample.length];
        for (int i = 0; i < prevSample.length; i++) prevSample[i] = sample[i] + sum[i];
        stepIndex++;
        return new StepOutput(prevSample, predOriginal);
    }

    /**
     * {@code get_lms_coefficient}: the integral from sigma_t to sigma_{t+1} of the Lagrange basis polynomial that is 1
     * at sigma_{t-currentOrder} and 0 at the other {@code order - 1} previous sigmas. diffusers uses
     * {@code scipy.integrate.quad}, which is exact for these polynomials up to rounding, as is Gauss-Legendre here.
     */
    private double lmsCoefficient(int order, int t, int currentOrder) {
        double from = sigmas[t];
        double to = sigmas[t + 1];
        double half = (to - from) / 2;
        double mid = (to + from) / 2;
        double integral = 0;
        for (int g = 0; g < GAUSS_NODES.length; g++) {
            double tau = mid + half * GAUSS_NODES[g];
            double product = 1.0;
            for (int k = 0; k < order; k++) {
                if (k == currentOrder) continue;
                product *= (tau - sigmas[t - k]) / ((double) sigmas[t - currentOrder] - sigmas[t - k]);
            }
            integral += GAUSS_WEIGHTS[g] * product;
        }
        return integral * half;
    }
}
