package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The DPM-Solver family, DEIS and UniPC on the SD 1.5 schedule with a fake linear model: every option runs to the
 * end with finite samples and the right number of steps, and the solvers agree where the math says they must.
 */
class ExponentialSolversTest {

    static final SchedulerConfig SD = SchedulerConfig.parse("""
            {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "steps_offset": 1,
             "num_train_timesteps": 1000}""");
    static final int SIZE = 4 * 8 * 8;

    private static final Map<String, Function<SchedulerConfig, ExponentialSolverScheduler>> FACTORIES = Map.of(
            "dpm-multistep", DPMSolverMultistepScheduler::new,
            "dpm-singlestep", DPMSolverSinglestepScheduler::new,
            "deis", DEISMultistepScheduler::new,
            "unipc", UniPCMultistepScheduler::new);

    static ExponentialSolverScheduler create(String kind, Map<String, Object> options) {
        SchedulerConfig config = SD;
        for (var option : options.entrySet()) config = config.with(option.getKey(), option.getValue());
        return FACTORIES.get(kind).apply(config);
    }

    /** The trace README's loop: model_output = 0.1 * sample + F, from x = randn. */
    static float[] run(Scheduler scheduler, int steps, TorchGenerator generator) {
        TorchGenerator data = new TorchGenerator(2024);
        float[] sample = data.randn(SIZE);
        float[] f = data.randn(SIZE);
        scheduler.setTimesteps(steps);
        for (double t : scheduler.timesteps()) {
            float[] scaled = scheduler.scaleModelInput(sample, t);
            float[] modelOutput = new float[SIZE];
            for (int i = 0; i < SIZE; i++) modelOutput[i] = 0.1f * scaled[i] + f[i];
            sample = scheduler.step(modelOutput, t, sample, generator).prevSample();
            assertEquals(SIZE, sample.length);
        }
        return sample;
    }

    private static void assertFinite(float[] values, String what) {
        for (float v : values) assertTrue(Float.isFinite(v), what + " has a non-finite value");
    }

    private static void assertClose(float[] expected, float[] actual, double relTol, String what) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            diff = Math.max(diff, Math.abs((double) expected[i] - actual[i]));
            norm = Math.max(norm, Math.abs(expected[i]));
        }
        assertTrue(diff <= relTol * norm, what + ": max diff " + diff + " > " + relTol + " * " + norm);
    }

    static Stream<Arguments> options() {
        return Stream.of(
                Arguments.of("dpm-multistep", Map.of()),
                Arguments.of("dpm-multistep", Map.of("solver_order", 1)),
                Arguments.of("dpm-multistep", Map.of("solver_order", 3)),
                Arguments.of("dpm-multistep", Map.of("solver_order", 3, "algorithm_type", "dpmsolver",
                        "final_sigmas_type", "sigma_min")),
                Arguments.of("dpm-multistep", Map.of("solver_type", "heun")),
                Arguments.of("dpm-multistep", Map.of("algorithm_type", "dpmsolver", "solver_type", "heun")),
                Arguments.of("dpm-multistep", Map.of("algorithm_type", "sde-dpmsolver++")),
                Arguments.of("dpm-multistep", Map.of("algorithm_type", "sde-dpmsolver++", "solver_type", "heun")),
                Arguments.of("dpm-multistep", Map.of("algorithm_type", "sde-dpmsolver")),
                Arguments.of("dpm-multistep", Map.of("algorithm_type", "sde-dpmsolver", "solver_type", "heun")),
                Arguments.of("dpm-multistep", Map.of("use_karras_sigmas", true)),
                Arguments.of("dpm-multistep", Map.of("use_lu_lambdas", true)),
                Arguments.of("dpm-multistep", Map.of("euler_at_final", true, "lower_order_final", false)),
                Arguments.of("dpm-multistep", Map.of("final_sigmas_type", "zero")),
                Arguments.of("dpm-multistep", Map.of("timestep_spacing", "leading")),
                Arguments.of("dpm-multistep", Map.of("timestep_spacing", "trailing")),
                Arguments.of("dpm-multistep", Map.of("prediction_type", "v_prediction")),
                Arguments.of("dpm-multistep", Map.of("prediction_type", "sample", "thresholding", true)),
                Arguments.of("dpm-multistep", Map.of("algorithm_type", "dpmsolver", "thresholding", true)),
                Arguments.of("dpm-multistep", Map.of("variance_type", "learned_range")),
                Arguments.of("dpm-singlestep", Map.of()),
                Arguments.of("dpm-singlestep", Map.of("solver_order", 3)),
                Arguments.of("dpm-singlestep", Map.of("solver_order", 3, "solver_type", "heun")),
                Arguments.of("dpm-singlestep", Map.of("solver_order", 3, "algorithm_type", "dpmsolver")),
                Arguments.of("dpm-singlestep", Map.of("algorithm_type", "dpmsolver", "solver_type", "heun")),
                Arguments.of("dpm-singlestep", Map.of("lower_order_final", false)),
                Arguments.of("dpm-singlestep", Map.of("use_karras_sigmas", true)),
                Arguments.of("deis", Map.of()),
                Arguments.of("deis", Map.of("solver_order", 3)),
                Arguments.of("deis", Map.of("solver_order", 1)),
                Arguments.of("deis", Map.of("use_karras_sigmas", true, "timestep_spacing", "trailing")),
                Arguments.of("deis", Map.of("prediction_type", "v_prediction", "thresholding", true)),
                Arguments.of("unipc", Map.of()),
                Arguments.of("unipc", Map.of("solver_type", "bh1")),
                Arguments.of("unipc", Map.of("solver_order", 3)),
                Arguments.of("unipc", Map.of("solver_order", 3, "predict_x0", false)),
                Arguments.of("unipc", Map.of("disable_corrector", List.of(0, 1, 2), "lower_order_final", false)),
                Arguments.of("unipc", Map.of("use_karras_sigmas", true, "timestep_spacing", "leading")));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("options")
    void everyOptionRunsToTheEnd(String kind, Map<String, Object> options) {
        for (int steps : new int[] {1, 2, 3, 10, 25}) {
            ExponentialSolverScheduler scheduler = create(kind, options);
            float[] result = run(scheduler, steps, new TorchGenerator(99));
            double[] timesteps = scheduler.timesteps();
            assertEquals(steps, timesteps.length, kind + " " + options + " steps=" + steps);
            assertEquals(steps + 1, scheduler.sigmas().length);
            for (int i = 1; i < timesteps.length; i++) {
                assertTrue(timesteps[i] < timesteps[i - 1], "timesteps descend: " + Arrays.toString(timesteps));
            }
            assertTrue(scheduler.integerTimesteps());
            assertEquals(1, scheduler.order());
            assertEquals(1.0f, scheduler.initNoiseSigma());
            assertFinite(result, kind + " " + options + " steps=" + steps);
        }
    }

    @Test
    void firstOrderSolversAreTheSameDdimStep() {
        float[] multistep = run(create("dpm-multistep", Map.of("solver_order", 1)), 10, null);
        float[] singlestep = run(create("dpm-singlestep", Map.of("solver_order", 1)), 10, null);
        assertArrayEquals(multistep, singlestep, "DPM++ 1 multistep and singlestep are one formula");

        float[] dpm = run(create("dpm-multistep", Map.of("solver_order", 1, "algorithm_type", "dpmsolver")), 10, null);
        float[] deis = run(create("deis", Map.of("solver_order", 1)), 10, null);
        assertClose(dpm, deis, 1e-5, "DEIS order 1 is DPM-Solver order 1");

        float[] unipc = run(create("unipc", Map.of("solver_order", 1,
                "disable_corrector", List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9))), 10, null);
        assertClose(multistep, unipc, 1e-5, "UniP order 1 without corrector is DPM-Solver++ order 1");
    }

    @Test
    void higherOrdersAndTheCorrectorChangeTheResult() {
        float[] first = run(create("dpm-multistep", Map.of("solver_order", 1)), 10, null);
        float[] second = run(create("dpm-multistep", Map.of()), 10, null);
        float[] third = run(create("dpm-multistep", Map.of("solver_order", 3)), 10, null);
        assertFalse(Arrays.equals(first, second));
        assertFalse(Arrays.equals(second, third));
        float[] corrected = run(create("unipc", Map.of()), 10, null);
        float[] uncorrected = run(create("unipc", Map.of("disable_corrector", List.of(0, 1, 2, 3, 4, 5, 6, 7, 8))),
                10, null);
        assertFalse(Arrays.equals(corrected, uncorrected));
        assertFalse(Arrays.equals(run(create("unipc", Map.of("solver_type", "bh1")), 10, null), corrected));
        float[] heun = run(create("dpm-singlestep", Map.of("solver_order", 3, "solver_type", "heun")), 10, null);
        float[] midpoint = run(create("dpm-singlestep", Map.of("solver_order", 3)), 10, null);
        assertFalse(Arrays.equals(heun, midpoint));
    }

    @Test
    void singlestepFollowsTheOrderList() {
        // 1 step of order 2 is the order list [1]: a plain first-order step
        assertArrayEquals(run(create("dpm-multistep", Map.of("solver_order", 1)), 1, null),
                run(create("dpm-singlestep", Map.of()), 1, null));
        // 6 steps of order 3: [1, 2, 3, 1, 2, 1] with lower_order_final, [1, 2, 3, 1, 2, 3] without
        assertFalse(Arrays.equals(run(create("dpm-singlestep", Map.of("solver_order", 3)), 6, null),
                run(create("dpm-singlestep", Map.of("solver_order", 3, "lower_order_final", false)), 6, null)));
        // an odd count cannot end on a whole group, so diffusers turns lower_order_final back on
        assertArrayEquals(run(create("dpm-singlestep", Map.of()), 5, null),
                run(create("dpm-singlestep", Map.of("lower_order_final", false)), 5, null));
    }

    @Test
    void lowerOrderFinalAndEulerAtFinalOnlyChangeTheLastSteps() {
        // below 15 steps lower_order_final drops to first order on the last step
        assertFalse(Arrays.equals(run(create("dpm-multistep", Map.of()), 10, null),
                run(create("dpm-multistep", Map.of("lower_order_final", false)), 10, null)));
        // from 15 steps on it does nothing, and euler_at_final takes over
        assertArrayEquals(run(create("dpm-multistep", Map.of()), 20, null),
                run(create("dpm-multistep", Map.of("lower_order_final", false)), 20, null));
        assertFalse(Arrays.equals(run(create("dpm-multistep", Map.of()), 20, null),
                run(create("dpm-multistep", Map.of("euler_at_final", true)), 20, null)));
    }

    @Test
    void spacingsFollowTheSolversFormulas() {
        ExponentialSolverScheduler leading = create("dpm-multistep", Map.of("timestep_spacing", "leading"));
        leading.setTimesteps(10);
        // last_timestep // (n + 1) = 90, arange(11) * 90 reversed without the last, + steps_offset
        assertArrayEquals(new double[] {901, 811, 721, 631, 541, 451, 361, 271, 181, 91}, leading.timesteps());
        ExponentialSolverScheduler trailing = create("unipc", Map.of("timestep_spacing", "trailing"));
        trailing.setTimesteps(10);
        assertArrayEquals(new double[] {999, 899, 799, 699, 599, 499, 399, 299, 199, 99}, trailing.timesteps());
        ExponentialSolverScheduler linspace = create("deis", Map.of());
        linspace.setTimesteps(4);
        // linspace(0, 999, 5) = 0, 249.75, 499.5, 749.25, 999 rounded half-to-even
        assertArrayEquals(new double[] {999, 749, 500, 250}, linspace.timesteps());
    }

    @Test
    void img2imgStartsMidScheduleWithAFirstOrderStep() {
        ExponentialSolverScheduler full = create("dpm-multistep", Map.of());
        ExponentialSolverScheduler fromMiddle = create("dpm-multistep", Map.of());
        ExponentialSolverScheduler firstOrder = create("dpm-multistep", Map.of("solver_order", 1));
        full.setTimesteps(20);
        fromMiddle.setTimesteps(20);
        firstOrder.setTimesteps(20);
        double[] t = full.timesteps();
        TorchGenerator data = new TorchGenerator(7);
        float[] sample = data.randn(SIZE);
        float[] modelOutput = data.randn(SIZE);
        // the first step seen locates the step index; it has no history, so it is first order
        float[] mid = fromMiddle.step(modelOutput, t[8], sample, null).prevSample();
        firstOrder.step(data.randn(SIZE), t[0], sample, null);
        for (int i = 1; i < 8; i++) firstOrder.step(data.randn(SIZE), t[i], sample, null);
        assertArrayEquals(firstOrder.step(modelOutput, t[8], sample, null).prevSample(), mid);
        float[] noised = fromMiddle.addNoise(sample, modelOutput, t[8]);
        assertFinite(noised, "add_noise");
        assertFalse(Arrays.equals(noised, fromMiddle.addNoise(sample, modelOutput, t[2])));
    }

    @Test
    void sdeVariantsDrawOneNoisePerStepFromTheGenerator() {
        TorchGenerator used = new TorchGenerator(99);
        run(create("dpm-multistep", Map.of("algorithm_type", "sde-dpmsolver++")), 10, used);
        TorchGenerator expected = new TorchGenerator(99);
        for (int i = 0; i < 10; i++) expected.randn(SIZE);
        assertEquals(expected.toProto(), used.toProto());
        assertArrayEquals(run(create("dpm-multistep", Map.of("algorithm_type", "sde-dpmsolver++")), 10,
                        new TorchGenerator(5)),
                run(create("dpm-multistep", Map.of("algorithm_type", "sde-dpmsolver++")), 10, new TorchGenerator(5)));
        TorchGenerator untouched = new TorchGenerator(99);
        run(create("dpm-multistep", Map.of()), 10, untouched);
        assertEquals(new TorchGenerator(99).toProto(), untouched.toProto(), "the ODE solvers draw nothing");
    }

    @Test
    void configKeysAreTheDiffusersInitArguments() {
        assertTrue(DPMSolverMultistepScheduler.CONFIG_KEYS.containsAll(
                List.of("algorithm_type", "solver_order", "euler_at_final", "use_lu_lambdas", "lambda_min_clipped")));
        assertTrue(DPMSolverSinglestepScheduler.CONFIG_KEYS.contains("lambda_min_clipped"));
        assertTrue(DEISMultistepScheduler.CONFIG_KEYS.contains("solver_type"));
        assertTrue(UniPCMultistepScheduler.CONFIG_KEYS.containsAll(List.of("predict_x0", "disable_corrector")));
        assertFalse(UniPCMultistepScheduler.CONFIG_KEYS.contains("algorithm_type"));
    }
}
