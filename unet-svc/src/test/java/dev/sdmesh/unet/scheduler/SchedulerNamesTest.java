package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AUTOMATIC1111 sampler names select the diffusers class and config that diffusers' documentation pairs with them.
 * An alias must behave exactly like its class configured by hand, over a model config that asks for the opposite
 * (Karras sigmas on, the first-order-noise "dpmsolver" algorithm), so a name that lost its settings is caught.
 */
class SchedulerNamesTest {
    private static final SchedulerConfig MODEL_CONFIG = SchedulerConfig.parse("""
            {"_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
             "num_train_timesteps": 1000, "steps_offset": 1, "set_alpha_to_one": false, "skip_prk_steps": true,
             "use_karras_sigmas": true, "algorithm_type": "dpmsolver"}""");
    private static final int STEPS = 8;
    private static final int LATENT_SIZE = 2 * 2 * 2;

    static Stream<Arguments> a1111Names() {
        return Stream.of(
                Arguments.of("Euler", "EulerDiscreteScheduler", Map.of("use_karras_sigmas", "false")),
                Arguments.of("Euler a", "EulerAncestralDiscreteScheduler", Map.of()),
                Arguments.of("LMS", "LMSDiscreteScheduler", Map.of("use_karras_sigmas", "false")),
                Arguments.of("LMS Karras", "LMSDiscreteScheduler", Map.of("use_karras_sigmas", "true")),
                Arguments.of("Heun", "HeunDiscreteScheduler", Map.of("use_karras_sigmas", "false")),
                Arguments.of("DPM2", "KDPM2DiscreteScheduler", Map.of("use_karras_sigmas", "false")),
                Arguments.of("DPM2 Karras", "KDPM2DiscreteScheduler", Map.of("use_karras_sigmas", "true")),
                Arguments.of("DPM2 a", "KDPM2AncestralDiscreteScheduler", Map.of("use_karras_sigmas", "false")),
                Arguments.of("DPM2 a Karras", "KDPM2AncestralDiscreteScheduler", Map.of("use_karras_sigmas", "true")),
                Arguments.of("DPM++ 2M", "DPMSolverMultistepScheduler",
                        Map.of("use_karras_sigmas", "false", "algorithm_type", "\"dpmsolver++\"")),
                Arguments.of("DPM++ 2M Karras", "DPMSolverMultistepScheduler",
                        Map.of("use_karras_sigmas", "true", "algorithm_type", "\"dpmsolver++\"")),
                Arguments.of("DPM++ 2M SDE", "DPMSolverMultistepScheduler",
                        Map.of("use_karras_sigmas", "false", "algorithm_type", "\"sde-dpmsolver++\"")),
                Arguments.of("DPM++ 2M SDE Karras", "DPMSolverMultistepScheduler",
                        Map.of("use_karras_sigmas", "true", "algorithm_type", "\"sde-dpmsolver++\"")),
                Arguments.of("DPM++ 2S a", "DPMSolverSinglestepScheduler",
                        Map.of("use_karras_sigmas", "false", "algorithm_type", "\"dpmsolver++\"")),
                Arguments.of("DPM++ 2S a Karras", "DPMSolverSinglestepScheduler",
                        Map.of("use_karras_sigmas", "true", "algorithm_type", "\"dpmsolver++\"")),
                Arguments.of("DPM++ SDE", "DPMSolverSDEScheduler", Map.of("use_karras_sigmas", "false")),
                Arguments.of("DPM++ SDE Karras", "DPMSolverSDEScheduler", Map.of("use_karras_sigmas", "true")),
                Arguments.of("DDIM", "DDIMScheduler", Map.of()),
                Arguments.of("PLMS", "PNDMScheduler", Map.of()),
                Arguments.of("UniPC", "UniPCMultistepScheduler", Map.of("use_karras_sigmas", "false")),
                Arguments.of("LCM", "LCMScheduler", Map.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("a1111Names")
    void nameSelectsTheClassAndItsSettings(String name, String className, Map<String, String> settings) {
        Scheduler byName = Schedulers.create(name, MODEL_CONFIG, Map.of());
        Scheduler byClass = Schedulers.create(className, MODEL_CONFIG, settings);
        assertEquals(className, byName.getClass().getSimpleName());
        assertArrayEquals(trajectory(byClass), trajectory(byName), name);
        assertTrue(Schedulers.aliasesOf(className).contains(name), name + " is listed under " + className);
    }

    @Test
    void namesAreCaseInsensitive() {
        assertArrayEquals(trajectory(Schedulers.create("DPM++ 2M Karras", MODEL_CONFIG, Map.of())),
                trajectory(Schedulers.create("dpm++ 2m karras", MODEL_CONFIG, Map.of())));
    }

    /** The settings above are not inert: each Karras name and the SDE name change the trajectory. */
    @Test
    void karrasAndSdeVariantsDifferFromThePlainName() {
        for (String plain : List.of("LMS", "DPM2", "DPM2 a", "DPM++ 2M", "DPM++ 2M SDE", "DPM++ 2S a", "DPM++ SDE")) {
            assertFalse(java.util.Arrays.equals(trajectory(Schedulers.create(plain, MODEL_CONFIG, Map.of())),
                    trajectory(Schedulers.create(plain + " Karras", MODEL_CONFIG, Map.of()))), plain + " Karras");
        }
        assertFalse(java.util.Arrays.equals(trajectory(Schedulers.create("DPM++ 2M", MODEL_CONFIG, Map.of())),
                trajectory(Schedulers.create("DPM++ 2M SDE", MODEL_CONFIG, Map.of()))));
    }

    @Test
    void requestOptionsOverrideTheNamesSettings() {
        assertArrayEquals(trajectory(Schedulers.create("DPM++ 2M Karras", MODEL_CONFIG, Map.of())),
                trajectory(Schedulers.create("DPM++ 2M", MODEL_CONFIG, Map.of("use_karras_sigmas", "true"))));
    }

    /**
     * Everything a scheduler feeds to and takes from the UNet over a short run: timesteps, the initial noise sigma,
     * each scaled model input and each step's result, with a stand-in model output and the same seed every time.
     */
    private static float[] trajectory(Scheduler scheduler) {
        scheduler.setTimesteps(STEPS);
        TorchGenerator generator = new TorchGenerator(7);
        float[] sample = generator.randn(LATENT_SIZE);
        List<Float> values = new ArrayList<>();
        for (double t : scheduler.timesteps()) values.add((float) t);
        values.add(scheduler.initNoiseSigma());
        for (double t : scheduler.timesteps()) {
            float[] scaled = scheduler.scaleModelInput(sample, t);
            float[] modelOutput = new float[LATENT_SIZE];
            for (int i = 0; i < LATENT_SIZE; i++) modelOutput[i] = 0.5f * scaled[i] + 0.1f * i;
            sample = scheduler.step(modelOutput, t, sample, generator).prevSample();
            for (float v : scaled) values.add(v);
            for (float v : sample) values.add(v);
        }
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) out[i] = values.get(i);
        return out;
    }
}
