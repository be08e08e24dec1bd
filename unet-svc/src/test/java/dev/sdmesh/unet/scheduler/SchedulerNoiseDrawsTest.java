package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RNG parity depends on each scheduler drawing exactly diffusers' noise: one randn of the latent size per noisy step,
 * none otherwise. Checked by comparing the generator after a loop with one advanced by the expected draws.
 */
class SchedulerNoiseDrawsTest {
    private static final SchedulerConfig SD15 = SchedulerConfig.parse("""
            {"beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false,
             "num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1}""");
    private static final int LATENT = 4 * 8 * 8;

    @Test
    void ddimDrawsOnlyWithPositiveEta() {
        assertDraws(DDIMScheduler::new, SD15, 10, 0);
        assertDraws(DDIMScheduler::new, SD15.with("eta", 1.0), 10, 10);
    }

    /** Every step with t > 0 adds noise: all of them with steps_offset 1, all but the t = 0 step without. */
    @Test
    void ddpmDrawsForEveryPositiveTimestep() {
        assertDraws(DDPMScheduler::new, SD15, 10, 10);
        assertDraws(DDPMScheduler::new, SD15.with("steps_offset", 0), 10, 9);
        assertDraws(DDPMScheduler::new, SD15.with("variance_type", "fixed_small_log"), 4, 4);
    }

    /** LCM re-noises after every step except the last, so one-step sampling draws nothing. */
    @Test
    void lcmDrawsAllButTheLastStep() {
        assertDraws(LCMScheduler::new, SD15, 4, 3);
        assertDraws(LCMScheduler::new, SD15, 1, 0);
    }

    @Test
    void pndmNeverDraws() {
        assertDraws(PNDMScheduler::new, SD15, 10, 0);
        assertDraws(PNDMScheduler::new, SD15.with("skip_prk_steps", false), 10, 0);
    }

    /** With eta = 1 the drawn noise reaches prev_sample; DDIM with eta = 0 is deterministic. */
    @Test
    void ddimEtaNoiseChangesTheSample() {
        float[] withoutNoise = lastSample(DDIMScheduler::new, SD15, 5, new TorchGenerator(1));
        float[] seed1 = lastSample(DDIMScheduler::new, SD15.with("eta", 1.0), 5, new TorchGenerator(1));
        float[] seed2 = lastSample(DDIMScheduler::new, SD15.with("eta", 1.0), 5, new TorchGenerator(2));
        assertFalse(Arrays.equals(seed1, seed2));
        assertFalse(Arrays.equals(withoutNoise, seed1));
    }

    @Test
    void thresholdingKeepsSamplesWithinOneAndLeavesSmallOnesAlone() {
        float[] wide = new TorchGenerator(5).randn(2 * LATENT);
        for (int i = 0; i < wide.length; i++) wide[i] *= 3;
        float[] thresholded = DynamicThresholding.threshold(wide, 2, 0.995, 5.0);
        for (float v : thresholded) assertTrue(Math.abs(v) <= 1.0f, "value " + v + " outside [-1, 1]");
        float[] small = new float[LATENT];
        for (int i = 0; i < small.length; i++) small[i] = (i % 7 - 3) / 4.0f;
        float[] unchanged = DynamicThresholding.threshold(small, 1, 0.995, 5.0);
        for (int i = 0; i < small.length; i++) assertEquals(small[i], unchanged[i]);
    }

    private static void assertDraws(Function<SchedulerConfig, Scheduler> factory, SchedulerConfig config, int steps,
                                    int expectedDraws) {
        TorchGenerator used = new TorchGenerator(7);
        lastSample(factory, config, steps, used);
        TorchGenerator expected = new TorchGenerator(7);
        for (int d = 0; d < expectedDraws; d++) expected.randn(LATENT);
        assertEquals(expected.toProto(), used.toProto(), "expected " + expectedDraws + " draws of randn(" + LATENT + ")");
    }

    /** A full loop with a fixed fake model; returns the final sample. */
    private static float[] lastSample(Function<SchedulerConfig, Scheduler> factory, SchedulerConfig config, int steps,
                                      TorchGenerator generator) {
        Scheduler scheduler = factory.apply(config);
        scheduler.setTimesteps(steps);
        float[] sample = new TorchGenerator(2024).randn(LATENT);
        float[] fixed = new TorchGenerator(2025).randn(LATENT);
        for (double t : scheduler.timesteps()) {
            float[] modelOutput = new float[LATENT];
            for (int i = 0; i < LATENT; i++) modelOutput[i] = 0.1f * sample[i] + fixed[i];
            sample = scheduler.step(modelOutput, t, sample, generator).prevSample();
            for (float v : sample) assertTrue(Float.isFinite(v), "non-finite sample at t=" + t);
        }
        return sample;
    }
}
