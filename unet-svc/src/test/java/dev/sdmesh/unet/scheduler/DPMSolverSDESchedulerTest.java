package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigInteger;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DPM++ SDE: the interleaved second-order schedule, determinism per seed, and the Brownian noise it uses. */
class DPMSolverSDESchedulerTest {

    private static final SchedulerConfig SD = SchedulerConfig.parse("""
            {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "steps_offset": 1}""");
    private static final int SIZE = 4 * 8 * 8;

    private static float[] run(DPMSolverSDEScheduler scheduler, int steps, TorchGenerator generator) {
        TorchGenerator data = new TorchGenerator(2024);
        float[] sample = data.randn(SIZE);
        float[] f = data.randn(SIZE);
        scheduler.setTimesteps(steps);
        float init = scheduler.initNoiseSigma();
        for (int i = 0; i < SIZE; i++) sample[i] *= init;
        for (double t : scheduler.timesteps()) {
            float[] scaled = scheduler.scaleModelInput(sample, t);
            float[] modelOutput = new float[SIZE];
            for (int i = 0; i < SIZE; i++) modelOutput[i] = 0.1f * scaled[i] + f[i];
            sample = scheduler.step(modelOutput, t, sample, generator).prevSample();
            assertEquals(SIZE, sample.length);
        }
        return sample;
    }

    @ParameterizedTest
    @ValueSource(strings = {"{}", "{\"use_karras_sigmas\": true}", "{\"timestep_spacing\": \"leading\"}",
            "{\"timestep_spacing\": \"trailing\", \"prediction_type\": \"v_prediction\"}",
            "{\"noise_sampler_seed\": 3}"})
    void runsTwoNMinusOneCallsToFiniteLatents(String options) {
        SchedulerConfig config = SD;
        var extra = SchedulerConfig.parse(options);
        for (String key : extra.keys()) config = config.with(key, extra.raw(key));
        for (int steps : new int[] {1, 2, 10}) {
            DPMSolverSDEScheduler scheduler = new DPMSolverSDEScheduler(config);
            float[] result = run(scheduler, steps, new TorchGenerator(42));
            assertEquals(2 * steps - 1, scheduler.timesteps().length, options + " steps=" + steps);
            assertEquals(2 * steps, scheduler.sigmas().length);
            assertEquals(2, scheduler.order());
            assertFalse(scheduler.integerTimesteps());
            for (float v : result) assertTrue(Float.isFinite(v), options + " steps=" + steps);
        }
    }

    @Test
    void scheduleInterleavesTheLogSigmaMidpoints() {
        DPMSolverSDEScheduler scheduler = new DPMSolverSDEScheduler(SD);
        scheduler.setTimesteps(10);
        double[] t = scheduler.timesteps();
        float[] sigmas = scheduler.sigmas();
        assertEquals(999.0, t[0]);
        assertEquals(0.0, t[t.length - 1]);
        assertEquals(0f, sigmas[sigmas.length - 1]);
        for (int i = 1; i < t.length; i++) assertTrue(t[i] < t[i - 1], Arrays.toString(t));
        // the sigmas repeat each inner value: [s0, s1, s1, s2, s2, ..., s9, s9, 0]
        for (int i = 1; i + 1 < sigmas.length - 1; i += 2) assertEquals(sigmas[i], sigmas[i + 1]);
        assertEquals(scheduler.sigmas()[0], scheduler.initNoiseSigma());
        // diffusers spaces this scheduler in float64: 18 * 999 / 19 is not rounded to float32 as Euler's would be
        scheduler.setTimesteps(20);
        assertEquals(18 * (999.0 / 19), scheduler.timesteps()[2], 1e-12);
        assertTrue(scheduler.timesteps()[2] != (float) scheduler.timesteps()[2]);
    }

    @Test
    void noiseIsDeterministicPerSeedAndLeavesTheRequestGeneratorAlone() {
        TorchGenerator generator = new TorchGenerator(42);
        float[] a = run(new DPMSolverSDEScheduler(SD), 10, generator);
        assertEquals(new TorchGenerator(42).toProto(), generator.toProto(), "diffusers' SDE step draws nothing");
        assertArrayEquals(a, run(new DPMSolverSDEScheduler(SD), 10, new TorchGenerator(42)));
        assertFalse(Arrays.equals(a, run(new DPMSolverSDEScheduler(SD), 10, new TorchGenerator(43))));
        SchedulerConfig seeded = SD.with("noise_sampler_seed", 42);
        assertArrayEquals(a, run(new DPMSolverSDEScheduler(seeded), 10, new TorchGenerator(7)),
                "noise_sampler_seed wins over the generator");
    }

    @Test
    void seedSequenceMatchesNumpy() {
        // np.random.SeedSequence(entropy=12345, pool_size=24).generate_state(3), and with spawn_key=(5, 3), 4 words
        assertArrayEquals(new long[] {2888090517L, 4151165838L, 1159728038L},
                new SeedSequence(BigInteger.valueOf(12345), new long[0], 24).generateState(3));
        assertArrayEquals(new long[] {173650277L, 1015160349L, 1939661955L, 1198629348L},
                new SeedSequence(BigInteger.valueOf(12345), new long[] {5, 3}, 24).generateState(4));
        // a two-word entropy (2**40 + 7) with spawn_key=(0, 0)
        assertArrayEquals(new long[] {3031313268L, 2012473695L, 896754726L, 2074090949L},
                new SeedSequence(BigInteger.ONE.shiftLeft(40).add(BigInteger.valueOf(7)), new long[] {0, 0}, 24)
                        .generateState(4));
    }

    @Test
    void brownianTreeDependsOnTheSeedNotOnTheQueryOrder() {
        int n = 256;
        BrownianTree forward = new BrownianTree(0.0292, 14.6146, n, BigInteger.valueOf(42));
        float[] a1 = forward.increment(2.0, 10.0);
        float[] b1 = forward.increment(0.5, 1.25);
        BrownianTree backward = new BrownianTree(0.0292, 14.6146, n, BigInteger.valueOf(42));
        float[] b2 = backward.increment(0.5, 1.25);
        float[] a2 = backward.increment(2.0, 10.0);
        assertArrayEquals(a1, a2);
        assertArrayEquals(b1, b2);
        assertFalse(Arrays.equals(a1, new BrownianTree(0.0292, 14.6146, n, BigInteger.valueOf(43)).increment(2.0, 10.0)));
    }

    @Test
    void brownianIncrementsAddUpAndAreStandardNormal() {
        int n = 4096;
        BrownianTreeNoiseSampler sampler = new BrownianTreeNoiseSampler(n, 0.03f, 14.6f, 1);
        float[] whole = sampler.sample(10.0f, 2.0f);
        float[] first = sampler.sample(10.0f, 5.0f);
        float[] second = sampler.sample(5.0f, 2.0f);
        for (int i = 0; i < n; i++) {
            double sum = first[i] * Math.sqrt(5.0) + second[i] * Math.sqrt(3.0);
            assertEquals(whole[i] * Math.sqrt(8.0), sum, 1e-4, "W(10->2) = W(10->5) + W(5->2)");
        }
        for (float[] z : new float[][] {whole, first, second}) {
            double mean = 0;
            double var = 0;
            for (float v : z) mean += v;
            mean /= n;
            for (float v : z) var += (v - mean) * (v - mean);
            var /= n;
            // about five standard errors for 4096 draws
            assertEquals(0.0, mean, 0.08);
            assertEquals(1.0, var, 0.11);
        }
        // disjoint increments are independent
        double cov = 0;
        for (int i = 0; i < n; i++) cov += first[i] * second[i];
        assertEquals(0.0, cov / n, 0.08);
    }
}
