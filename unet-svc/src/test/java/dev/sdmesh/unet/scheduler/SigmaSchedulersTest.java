package dev.sdmesh.unet.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

import static dev.sdmesh.unet.scheduler.SigmaReference.fakeModel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The diffusers facts of the reference README for all six sigma-based schedulers (init_noise_sigma, the n = 1
 * schedule, leading spacing, 2n - 1 UNet calls), img2img starting mid-schedule, and runs of every config option.
 */
class SigmaSchedulersTest {

    private record Kind(String name, Function<SchedulerConfig, SigmaScheduler> factory, Set<String> configKeys,
                        int order) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final List<Kind> KINDS = List.of(
            new Kind("Euler", EulerDiscreteScheduler::new, EulerDiscreteScheduler.CONFIG_KEYS, 1),
            new Kind("EulerAncestral", EulerAncestralDiscreteScheduler::new,
                    EulerAncestralDiscreteScheduler.CONFIG_KEYS, 1),
            new Kind("LMS", LMSDiscreteScheduler::new, LMSDiscreteScheduler.CONFIG_KEYS, 1),
            new Kind("Heun", HeunDiscreteScheduler::new, HeunDiscreteScheduler.CONFIG_KEYS, 2),
            new Kind("KDPM2", KDPM2DiscreteScheduler::new, KDPM2DiscreteScheduler.CONFIG_KEYS, 2),
            new Kind("KDPM2Ancestral", KDPM2AncestralDiscreteScheduler::new,
                    KDPM2AncestralDiscreteScheduler.CONFIG_KEYS, 2));

    static Stream<Kind> kinds() {
        return KINDS.stream();
    }

    /** The SD 1.5 schedule the reference traces use (scaled_linear 0.00085..0.012, steps_offset 1). */
    private static SchedulerConfig sdConfig(Kind kind) {
        JsonNode base = SchedulerTraceReplay.publicJson("scheduler_traces.json").get("meta").get("base_scheduler_config");
        SchedulerConfig config = SchedulerConfig.empty();
        for (String key : List.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "steps_offset")) {
            assertTrue(kind.configKeys().contains(key), kind + " lacks " + key);
            config = config.with(key, base.get(key));
        }
        return config;
    }

    private static SigmaScheduler create(Kind kind, SchedulerConfig config, int steps) {
        SigmaScheduler scheduler = kind.factory().apply(config);
        scheduler.setTimesteps(steps);
        return scheduler;
    }

    private static float traceInitNoiseSigma(int steps) {
        return SchedulerTraceReplay.trace("euler_n" + steps).get("init_noise_sigma").floatValue();
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void initNoiseSigmaIsTheLargestSigmaForLinspaceAndTrailing(Kind kind) {
        float expected = traceInitNoiseSigma(20);
        for (int steps : new int[] {2, 7, 20, 25}) {
            SigmaScheduler scheduler = create(kind, sdConfig(kind), steps);
            assertEquals(expected, scheduler.initNoiseSigma(), 1e-6f * expected, kind + " n=" + steps);
            SigmaScheduler trailing = create(kind, sdConfig(kind).with("timestep_spacing", "trailing"), steps);
            assertEquals(expected, trailing.initNoiseSigma(), 1e-6f * expected, kind + " trailing n=" + steps);
            assertEquals(999.0, trailing.timesteps()[0]);
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void oneLinspaceStepStartsAtTimestepZero(Kind kind) {
        SigmaScheduler scheduler = create(kind, sdConfig(kind), 1);
        assertArrayEquals(new double[] {0.0}, scheduler.timesteps());
        float expected = traceInitNoiseSigma(1);
        assertEquals(expected, scheduler.initNoiseSigma(), 1e-6f * expected);
        float[][] inputs = SigmaReference.traceInputs(256);
        float[] sample = scale(inputs[0], scheduler.initNoiseSigma());
        float[] scaled = scheduler.scaleModelInput(sample, 0.0);
        float[] prev = scheduler.step(fakeModel(scaled, inputs[1]), 0.0, sample, new TorchGenerator(99)).prevSample();
        assertFinite(prev, kind + " n=1");
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void leadingSpacingAddsOneToTheVariance(Kind kind) {
        SigmaScheduler scheduler = create(kind, sdConfig(kind).with("timestep_spacing", "leading"), 20);
        assertEquals(951.0, scheduler.timesteps()[0], "arange(20) * 50 + steps_offset, reversed");
        float max = 0;
        for (float s : scheduler.sigmas()) max = Math.max(max, s);
        assertEquals((float) Math.sqrt(max * max + 1.0f), scheduler.initNoiseSigma());
        assertTrue(max < traceInitNoiseSigma(20), "leading spacing never reaches t = 999");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 10, 25})
    void secondOrderSchedulersCallTheUnetTwiceButForTheLastStep(int steps) {
        double[] euler = create(KINDS.get(0), sdConfig(KINDS.get(0)), steps).timesteps();
        for (Kind kind : KINDS.subList(3, 6)) {
            SigmaScheduler scheduler = create(kind, sdConfig(kind), steps);
            double[] timesteps = scheduler.timesteps();
            assertEquals(2 * steps - 1, timesteps.length, kind + " UNet calls");
            assertEquals(2, scheduler.order());
            assertEquals(euler[0], timesteps[0]);
            for (int k = 1; k < steps; k++) {
                assertEquals(euler[k], timesteps[2 * k], kind + " step " + k + " starts at the Euler timestep");
                double between = timesteps[2 * k - 1];
                switch (kind.name()) {
                    case "Heun" -> assertEquals(euler[k], between, "Heun's corrector runs at the next timestep");
                    case "KDPM2" -> assertTrue(between < euler[k - 1] && between > euler[k],
                            "midpoint " + between + " not in (" + euler[k] + ", " + euler[k - 1] + ")");
                    // The geometric midpoint of sigma and sigma_down = sigma_next^2 / sigma is sigma_next itself.
                    default -> assertEquals(euler[k], between, 0.05, kind + " midpoint at step " + k);
                }
            }
            assertEquals(2 * steps - 1, run(scheduler, new TorchGenerator(99)).size());
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void addNoiseUsesTheSigmaWhereEachSchedulerStepStarts(Kind kind) {
        int steps = 10;
        float[] eulerSigmas = create(KINDS.get(0), sdConfig(KINDS.get(0)), steps).sigmas();
        SigmaScheduler scheduler = create(kind, sdConfig(kind), steps);
        float[] zeros = new float[4];
        float[] ones = {1, 1, 1, 1};
        double[] timesteps = scheduler.timesteps();
        for (int k = 0; k < steps; k++) {
            // img2img noises to timesteps[t_start * order], the first-order call of step t_start.
            float[] noised = scheduler.addNoise(zeros, ones, timesteps[k * kind.order()]);
            assertEquals(eulerSigmas[k], noised[0], kind + " step " + k);
        }
    }

    /** img2img starts at {@code timesteps[t_start * order]}; from there the steps must match an uninterrupted run. */
    @ParameterizedTest
    @ValueSource(strings = {"Euler", "Heun", "KDPM2"})
    void startingMidScheduleContinuesLikeTheFullRun(String name) {
        Kind kind = KINDS.stream().filter(k -> k.name().equals(name)).findFirst().orElseThrow();
        int steps = 8;
        int tStart = 3;
        SigmaScheduler full = create(kind, sdConfig(kind), steps);
        List<float[]> fullSamples = run(full, null);
        int start = tStart * kind.order();

        SigmaScheduler img2img = create(kind, sdConfig(kind), steps);
        double[] timesteps = img2img.timesteps();
        float[] fixedF = SigmaReference.traceInputs(256)[1];
        float[] sample = fullSamples.get(start - 1);
        for (int i = start; i < timesteps.length; i++) {
            float[] scaled = img2img.scaleModelInput(sample, timesteps[i]);
            sample = img2img.step(fakeModel(scaled, fixedF), timesteps[i], sample, null).prevSample();
            assertArrayEquals(fullSamples.get(i), sample, name + " call " + i);
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void img2imgStartsAtTheFirstOrderCallOfStepTStart(Kind kind) {
        int steps = 10;
        int tStart = steps - (int) (steps * 0.6);
        SigmaScheduler scheduler = create(kind, sdConfig(kind), steps);
        double[] timesteps = scheduler.timesteps();
        double[] loop = Arrays.copyOfRange(timesteps, tStart * kind.order(), timesteps.length);
        assertEquals(kind.order() == 1 ? 6 : 11, loop.length);
        float[][] inputs = SigmaReference.traceInputs(256);
        float[] sample = scheduler.addNoise(inputs[0], inputs[1], loop[0]);
        TorchGenerator generator = new TorchGenerator(99);
        for (double t : loop) {
            float[] scaled = scheduler.scaleModelInput(sample, t);
            sample = scheduler.step(fakeModel(scaled, inputs[1]), t, sample, generator).prevSample();
            assertFinite(sample, kind + " t=" + t);
        }
    }

    static Stream<Arguments> configurations() {
        List<Arguments> out = new ArrayList<>();
        List<Map<String, Object>> options = List.of(
                Map.of(),
                Map.of("prediction_type", "v_prediction"),
                Map.of("prediction_type", "sample"),
                Map.of("use_karras_sigmas", true),
                Map.of("use_karras_sigmas", true, "prediction_type", "v_prediction"),
                Map.of("timestep_spacing", "leading"),
                Map.of("timestep_spacing", "trailing"),
                Map.of("beta_schedule", "linear"),
                Map.of("beta_schedule", "squaredcos_cap_v2"),
                Map.of("interpolation_type", "log_linear"),
                Map.of("timestep_type", "continuous", "prediction_type", "v_prediction"),
                Map.of("rescale_betas_zero_snr", true, "timestep_spacing", "trailing", "prediction_type", "v_prediction"),
                Map.of("sigma_min", 0.1, "sigma_max", 10.0, "use_karras_sigmas", true),
                Map.of("clip_sample", true, "clip_sample_range", 2.0));
        for (Kind kind : KINDS) {
            for (Map<String, Object> option : options) {
                if (!kind.configKeys().containsAll(option.keySet())) continue;
                boolean ancestral = kind.name().contains("Ancestral");
                if (option.get("prediction_type") == "sample" && kind.name().matches("EulerAncestral|KDPM2.*")) {
                    continue;
                }
                // With the cosine schedule's sigma_max of 2e4, float32 sigma_to^2 - sigma_up^2 rounds below 0 and
                // diffusers' ancestral sigma_down is NaN as well.
                if (ancestral && "squaredcos_cap_v2".equals(option.get("beta_schedule"))) continue;
                for (int steps : new int[] {1, 4, 25}) out.add(Arguments.of(kind, option, steps));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} n={2}")
    @MethodSource("configurations")
    void everyConfigurationRunsToAFiniteSample(Kind kind, Map<String, Object> option, int steps) {
        SchedulerConfig config = sdConfig(kind);
        for (Map.Entry<String, Object> e : option.entrySet()) config = config.with(e.getKey(), e.getValue());
        SigmaScheduler scheduler = create(kind, config, steps);
        assertFalse(scheduler.integerTimesteps());
        assertEquals(kind.order(), scheduler.order());
        double[] timesteps = scheduler.timesteps();
        assertTrue(Float.isFinite(scheduler.initNoiseSigma()) && scheduler.initNoiseSigma() > 0);
        for (int i = 1; i < timesteps.length; i++) {
            if (kind.order() == 1) assertTrue(timesteps[i] < timesteps[i - 1], "timesteps descend: " + i);
        }
        List<float[]> samples = run(scheduler, new TorchGenerator(99));
        assertEquals(timesteps.length, samples.size());
        for (float[] s : samples) assertFinite(s, kind + " " + option);
    }

    @Test
    void karrasAndOptionsChangeTheSchedule() {
        Kind euler = KINDS.get(0);
        double[] plain = create(euler, sdConfig(euler), 20).timesteps();
        double[] karras = create(euler, sdConfig(euler).with("use_karras_sigmas", true), 20).timesteps();
        assertNotEquals(Arrays.toString(plain), Arrays.toString(karras));
        assertEquals(999.0, karras[0], 1e-3, "Karras starts at sigma_max, i.e. t = 999");
        long lowKarras = Arrays.stream(karras).filter(t -> t < 500).count();
        long lowPlain = Arrays.stream(plain).filter(t -> t < 500).count();
        assertTrue(lowKarras > lowPlain, "rho = 7 packs steps toward low noise");
        double[] kdpm2Karras = create(KINDS.get(4), sdConfig(KINDS.get(4)).with("use_karras_sigmas", true), 20)
                .timesteps();
        assertEquals(Math.rint(kdpm2Karras[2]), kdpm2Karras[2], "KDPM2 rounds its Karras timesteps");
    }

    @Test
    void eulerChurnDrawsAndUsesNoise() {
        Kind euler = KINDS.get(0);
        SchedulerConfig config = sdConfig(euler);
        EulerDiscreteScheduler.StepOptions churn =
                new EulerDiscreteScheduler.StepOptions(1.0, 0.0, Double.POSITIVE_INFINITY, 1.0);
        EulerDiscreteScheduler churned = new EulerDiscreteScheduler(config, churn);
        churned.setTimesteps(10);
        SigmaScheduler plain = create(euler, config, 10);
        float[] a = run(churned, new TorchGenerator(99)).get(9);
        float[] b = run(plain, new TorchGenerator(99)).get(9);
        assertFinite(a, "churned");
        assertNotEquals(Arrays.toString(a), Arrays.toString(b));
        EulerDiscreteScheduler needsGenerator = new EulerDiscreteScheduler(config, churn);
        needsGenerator.setTimesteps(10);
        float[] sample = new float[4];
        assertThrows(IllegalArgumentException.class,
                () -> needsGenerator.step(sample, needsGenerator.timesteps()[0], sample, null));
    }

    @Test
    void rejectsUnknownOptions() {
        Kind euler = KINDS.get(0);
        assertThrows(IllegalArgumentException.class,
                () -> new EulerDiscreteScheduler(sdConfig(euler).with("timestep_spacing", "sideways")));
        assertThrows(IllegalArgumentException.class,
                () -> new EulerDiscreteScheduler(sdConfig(euler).with("interpolation_type", "cubic")));
        assertThrows(IllegalArgumentException.class,
                () -> new KDPM2DiscreteScheduler(sdConfig(KINDS.get(4)).with("prediction_type", "sample")));
        assertThrows(IllegalStateException.class, () -> new LMSDiscreteScheduler(SchedulerConfig.empty()).timesteps());
    }

    /** The trace loop: x = randn * init_noise_sigma, model_output = 0.1 * scaled + F; returns every prev_sample. */
    private static List<float[]> run(SigmaScheduler scheduler, TorchGenerator generator) {
        float[][] inputs = SigmaReference.traceInputs(256);
        float[] sample = scale(inputs[0], scheduler.initNoiseSigma());
        List<float[]> samples = new ArrayList<>();
        for (double t : scheduler.timesteps()) {
            float[] scaled = scheduler.scaleModelInput(sample, t);
            sample = scheduler.step(fakeModel(scaled, inputs[1]), t, sample, generator).prevSample();
            samples.add(sample);
        }
        return samples;
    }

    private static float[] scale(float[] values, float factor) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) out[i] = values[i] * factor;
        return out;
    }

    private static void assertFinite(float[] values, String what) {
        for (int i = 0; i < values.length; i++) {
            assertTrue(Float.isFinite(values[i]), what + ": element " + i + " is " + values[i]);
        }
    }
}
