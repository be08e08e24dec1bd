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
    /**
     * QUADPACK's 21-point Kronrod abscissae on [0, 1] (descending, the centre last) and their weights; the Kronrod
     * points at odd positions are the 10-point Gauss abscissae.
     */
    private static final double[] KRONROD_NODES = {
            0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
            0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
            0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
            0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
            0.294392862701460198131126603103866, 0.148874338981631210884826001129720, 0.0};
    private static final double[] KRONROD_WEIGHTS = {
            0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
            0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
            0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
            0.123491976262065851077958109831074, 0.134709217311473325928054001771707,
            0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
            0.149445554002916905664936468389821};

    /** Null when {@code use_karras_sigmas} is off. */
    private final KarrasBounds karrasBounds;
    /** Newest first, at most {@link #ORDER}. */
    private final Deque<float[]> derivatives = new ArrayDeque<>();

    public LMSDiscreteScheduler(SchedulerConfig config) {
        super(config, alphasCumprodWithoutZeroSnr(config, 0.0001, 0.02), true);
        this.karrasBounds = config.getBoolean("use_karras_sigmas", false) ? KarrasBounds.SCHEDULE_ENDS : null;
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        BaseSchedule base = baseSchedule(numInferenceSteps, karrasBounds, false);
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
     * at sigma_{t-currentOrder} and 0 at the other {@code order - 1} previous sigmas. diffusers calls
     * {@code scipy.integrate.quad(epsrel=1e-4)}, whose first 21-point Gauss-Kronrod estimate already meets the
     * tolerance for these cubics and is returned as it is. The integrand runs on torch float32 sigmas, so its values
     * carry float32 rounding that the float64 sum keeps; this reproduces both.
     */
    double lmsCoefficient(int order, int t, int currentOrder) {
        double from = sigmas[t];
        double to = sigmas[t + 1];
        double centre = 0.5 * (from + to);
        double halfLength = 0.5 * (to - from);
        int centreIndex = KRONROD_NODES.length - 1;
        double sum = KRONROD_WEIGHTS[centreIndex] * lagrangeBasis(order, t, currentOrder, centre);
        // QUADPACK's qk21 adds the Gauss abscissae's pairs first, then the other Kronrod pairs.
        for (int first = 1; first >= 0; first--) {
            for (int node = first; node < centreIndex; node += 2) {
                double offset = halfLength * KRONROD_NODES[node];
                double pair = lagrangeBasis(order, t, currentOrder, centre - offset)
                        + lagrangeBasis(order, t, currentOrder, centre + offset);
                sum = sum + KRONROD_WEIGHTS[node] * pair;
            }
        }
        return sum * halfLength;
    }

    /** {@code lms_derivative(tau)}: torch rounds the Python float tau to float32 before it meets the sigmas. */
    private double lagrangeBasis(int order, int t, int currentOrder, double tau) {
        float x = (float) tau;
        float product = 1.0f;
        for (int k = 0; k < order; k++) {
            if (k == currentOrder) continue;
            product *= (x - sigmas[t - k]) / (sigmas[t - currentOrder] - sigmas[t - k]);
        }
        return product;
    }
}
