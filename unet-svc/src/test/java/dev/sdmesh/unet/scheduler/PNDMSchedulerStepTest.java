package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import static dev.sdmesh.unet.scheduler.AlphasCumprodReference.assertClose;
import static dev.sdmesh.unet.scheduler.AlphasCumprodReference.linearAlphasCumprod;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * diffusers 0.25 {@code PNDMScheduler} on a 20-step linear schedule: the PRK warm-up (skip_prk_steps false) and PLMS,
 * each call checked against formula (9) of the PNDM paper ({@code _get_prev_sample}) with the model-output
 * combination and the (timestep, prev_timestep, sample) pair diffusers uses at that counter.
 */
class PNDMSchedulerStepTest {
    private static final SchedulerConfig SMALL = SchedulerConfig.parse("""
            {"num_train_timesteps": 20, "beta_start": 0.05, "beta_end": 0.15, "beta_schedule": "linear"}""");
    private static final double[] ALPHAS_CUMPROD = linearAlphasCumprod(0.05, 0.15, 20);
    /** Passed where diffusers steps from its stored cur_sample instead: any use of it would show. */
    private static final float[] IGNORED_SAMPLE = {1e6f, -1e6f};

    /**
     * 4 steps of ratio 5: PRK over the ascending 0, 5, 10, 15 with half step 5 // 2 = 2, then PLMS on the rest. Each
     * RK group evaluates at t, t' + 2 (twice) and t', always stepping from the group's first sample; its last call
     * uses ε/6 + ε'/3 + ε''/3 + ε'''/6. PLMS then combines the four stored first-call outputs 55, -59, 37, -9 over 24
     * and ends at ᾱ_0 (set_alpha_to_one defaults to false for PNDM).
     */
    @Test
    void prkWarmUpThenFourthOrderPlms() {
        PNDMScheduler scheduler = new PNDMScheduler(SMALL.with("skip_prk_steps", false));
        scheduler.setTimesteps(4);
        double[] timesteps = scheduler.timesteps();
        assertArrayEquals(new double[]{15, 12, 12, 10, 10, 7, 7, 5, 5, 2, 2, 0, 0}, timesteps);

        float[][] outputs = new float[timesteps.length][];
        for (int k = 0; k < outputs.length; k++) outputs[k] = new float[]{0.1f * k - 0.3f, 0.5f - 0.05f * k};
        float[] sample = {0.7f, -0.4f};
        for (int group = 0; group < 3; group++) {
            int from = (int) timesteps[4 * group];
            int to = (int) timesteps[4 * group + 3];
            float[] groupStart = sample;
            float[] e0 = outputs[4 * group], e1 = outputs[4 * group + 1], e2 = outputs[4 * group + 2], e3 = outputs[4 * group + 3];
            assertClose(prevSample(groupStart, from, from - 2, e0), step(scheduler, e0, from, groupStart), "PRK to t - 2");
            assertClose(prevSample(groupStart, from, to + 2, e1), step(scheduler, e1, to + 2, IGNORED_SAMPLE), "PRK midpoint");
            assertClose(prevSample(groupStart, from, to, e2), step(scheduler, e2, to + 2, IGNORED_SAMPLE), "PRK midpoint to t'");
            float[] combined = new float[2];
            for (int i = 0; i < 2; i++) combined[i] = e0[i] / 6 + e1[i] / 3 + e2[i] / 3 + e3[i] / 6;
            double[] expected = prevSample(groupStart, from, to, combined);
            sample = step(scheduler, e3, to, IGNORED_SAMPLE);
            assertClose(expected, sample, "PRK group " + group);
        }
        float[] plms = new float[2];
        float[] e = outputs[12];
        for (int i = 0; i < 2; i++) {
            plms[i] = (55 * e[i] - 59 * outputs[8][i] + 37 * outputs[4][i] - 9 * outputs[0][i]) / 24;
        }
        assertClose(prevSample(sample, 0, -5, plms), step(scheduler, e, 0, sample), "PLMS");
    }

    /**
     * skip_prk_steps with 3 steps of ratio 20 // 3 = 6: 12, 6, 6, 0. The repeated 6 is the correction of the first
     * step (12 → 6, from the first sample, with the mean of both outputs); then second- and third-order Adams-Bashforth,
     * the last step reaching ᾱ = 1 with set_alpha_to_one. v_prediction turns the output into ε at each call's t.
     */
    @Test
    void plmsWithVPrediction() {
        SchedulerConfig config = SMALL.with("skip_prk_steps", true).with("set_alpha_to_one", true)
                .with("prediction_type", "v_prediction");
        PNDMScheduler scheduler = new PNDMScheduler(config);
        scheduler.setTimesteps(3);
        assertArrayEquals(new double[]{12, 6, 6, 0}, scheduler.timesteps());

        float[] x = {0.7f, -0.4f};
        float[] v0 = {0.2f, 0.1f}, v1 = {-0.3f, 0.4f}, v2 = {0.05f, -0.2f}, v3 = {0.6f, 0.25f};
        assertClose(prevSample(x, 12, 6, epsilon(v0, x, 12)), step(scheduler, v0, 12, x), "first PLMS step");
        float[] mean = new float[2];
        for (int i = 0; i < 2; i++) mean[i] = (v1[i] + v0[i]) / 2;
        float[] corrected = step(scheduler, v1, 6, IGNORED_SAMPLE);
        assertClose(prevSample(x, 12, 6, epsilon(mean, x, 12)), corrected, "the repeated timestep corrects step one");
        float[] second = new float[2];
        for (int i = 0; i < 2; i++) second[i] = (3 * v2[i] - v0[i]) / 2;
        float[] x6 = step(scheduler, v2, 6, corrected);
        assertClose(prevSample(corrected, 6, 0, epsilon(second, corrected, 6)), x6, "second order");
        float[] third = new float[2];
        for (int i = 0; i < 2; i++) third[i] = (23 * v3[i] - 16 * v2[i] + 5 * v0[i]) / 12;
        double[] eps = epsilon(third, x6, 0);
        double[] expected = new double[2];
        for (int i = 0; i < 2; i++) {
            expected[i] = (x6[i] - Math.sqrt(1 - ALPHAS_CUMPROD[0]) * eps[i]) / Math.sqrt(ALPHAS_CUMPROD[0]);
        }
        assertClose(expected, step(scheduler, v3, 0, x6), "third order, to alpha 1");
    }

    /** numpy cannot add tile([0, h], 4) to fewer than four repeated timesteps, so diffusers rejects PRK below 4 steps. */
    @Test
    void prkNeedsFourSteps() {
        PNDMScheduler scheduler = new PNDMScheduler(SMALL.with("skip_prk_steps", false));
        assertThrows(IllegalArgumentException.class, () -> scheduler.setTimesteps(3));
    }

    private static float[] step(PNDMScheduler scheduler, float[] modelOutput, double t, float[] sample) {
        return scheduler.step(modelOutput, t, sample, new TorchGenerator(0)).prevSample();
    }

    /** v → ε at ᾱ_t: sqrt(ᾱ_t)·v + sqrt(1 - ᾱ_t)·x. */
    private static double[] epsilon(float[] v, float[] sample, int t) {
        double alpha = ALPHAS_CUMPROD[t];
        double[] out = new double[v.length];
        for (int i = 0; i < out.length; i++) out[i] = Math.sqrt(alpha) * v[i] + Math.sqrt(1 - alpha) * sample[i];
        return out;
    }

    private static double[] prevSample(float[] sample, int t, int prevT, float[] epsilon) {
        double[] e = new double[epsilon.length];
        for (int i = 0; i < e.length; i++) e[i] = epsilon[i];
        return prevSample(sample, t, prevT, e);
    }

    /** Formula (9): x_{t-δ} = sqrt(ᾱ_{t-δ}/ᾱ_t)·x_t - (ᾱ_{t-δ} - ᾱ_t)·ε / (ᾱ_t·sqrt(1-ᾱ_{t-δ}) + sqrt(ᾱ_t(1-ᾱ_t)ᾱ_{t-δ})). */
    private static double[] prevSample(float[] sample, int t, int prevT, double[] epsilon) {
        double alpha = ALPHAS_CUMPROD[t];
        double alphaPrev = prevT >= 0 ? ALPHAS_CUMPROD[prevT] : ALPHAS_CUMPROD[0];
        double denominator = alpha * Math.sqrt(1 - alphaPrev) + Math.sqrt(alpha * (1 - alpha) * alphaPrev);
        double[] out = new double[sample.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.sqrt(alphaPrev / alpha) * sample[i] - (alphaPrev - alpha) * epsilon[i] / denominator;
        }
        return out;
    }
}
