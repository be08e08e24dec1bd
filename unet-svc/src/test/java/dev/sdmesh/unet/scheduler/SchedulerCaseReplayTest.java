package dev.sdmesh.unet.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Replays the scheduler part of each public pipeline case: every recorded step gets the recorded CFG-guided model
 * output and input latents and must give the recorded prev_sample. The generator is advanced through the draws the
 * pipeline makes before the loop (txt2img: the latents; img2img / inpaint: the recorded VAE and noise draws).
 */
class SchedulerCaseReplayTest {
    static final Map<String, Function<SchedulerConfig, Scheduler>> FACTORIES = Map.of(
            "DDIMScheduler", DDIMScheduler::new,
            "DDPMScheduler", DDPMScheduler::new,
            "PNDMScheduler", PNDMScheduler::new,
            "LCMScheduler", LCMScheduler::new);

    @TestFactory
    List<DynamicTest> stepsReproduceThePublicCases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : SchedulerTraceReplay.publicJson("cases.json").get("cases")) {
            Function<SchedulerConfig, Scheduler> factory = FACTORIES.get(c.get("scheduler_class").asText());
            if (factory == null) continue;
            tests.add(DynamicTest.dynamicTest(c.get("id").asText(), () -> replay(c, factory)));
        }
        assertFalse(tests.isEmpty(), "no public case uses DDIM, DDPM, PNDM or LCM");
        return tests;
    }

    private static void replay(JsonNode c, Function<SchedulerConfig, Scheduler> factory) {
        String id = c.get("id").asText();
        Scheduler scheduler = factory.apply(SchedulerConfig.of(c.get("scheduler_config")));
        ((AlphasCumprodScheduler) scheduler).setBatchSize(c.get("batch_size").asInt());
        scheduler.setTimesteps(c.get("steps").asInt());

        TorchGenerator generator = generatorBeforeLoop(c);
        int iterations = c.get("num_loop_iterations").asInt();
        float[][] modelOutputs = rows(c, "guided_model_output", iterations);
        float[][] samplesIn = rows(c, "step_sample_in", iterations);
        float[][] prevSamples = rows(c, "step_prev_sample", iterations);
        for (int i = 0; i < iterations; i++) {
            double t = c.get("unet_timesteps_fed").get(i).asDouble();
            Scheduler.StepOutput out = scheduler.step(modelOutputs[i], t, samplesIn[i], generator);
            SchedulerTraceReplay.assertClose(prevSamples[i], out.prevSample(), id + " step " + i + " (t=" + t + ")");
        }

        if (c.get("files").has("noised_init_latents")) {
            double t = ReferenceData.npy(file(c, "add_noise_timestep")).toDoubles()[0];
            SchedulerTraceReplay.assertClose(ReferenceData.npy(file(c, "noised_init_latents")).toFloats(),
                    scheduler.addNoise(ReferenceData.npy(file(c, "init_latents")).toFloats(),
                            ReferenceData.npy(file(c, "add_noise_noise")).toFloats(), t), id + ": add_noise");
        }
    }

    /** The case's generator as the loop finds it; the pre-loop draws it replays must match the recorded ones. */
    private static TorchGenerator generatorBeforeLoop(JsonNode c) {
        TorchGenerator generator = new TorchGenerator(c.get("seed").asLong());
        if (c.get("files").has("latents_input")) {
            float[] latents = ReferenceData.npy(file(c, "latents_input")).toFloats();
            assertArrayEquals(latents, generator.randn(latents.length), "latents_input");
        }
        for (JsonNode draw : c.get("randn_draws_in_order")) {
            if (draw.get("caller").asText().startsWith("scheduling_")) break;
            float[] recorded = ReferenceData.npy(draw.get("file").asText()).toFloats();
            assertArrayEquals(recorded, generator.randn(recorded.length), draw.get("file").asText());
        }
        return generator;
    }

    private static String file(JsonNode c, String key) {
        return c.get("files").get(key).get("file").asText();
    }

    private static float[][] rows(JsonNode c, String key, int count) {
        float[] all = ReferenceData.npy(file(c, key)).toFloats();
        int size = all.length / count;
        float[][] rows = new float[count][];
        for (int r = 0; r < count; r++) rows[r] = Arrays.copyOfRange(all, r * size, (r + 1) * size);
        return rows;
    }
}
