package dev.sdmesh.unet.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.runtime.testing.ReferenceData;
import dev.sdmesh.unet.scheduler.SchedulerConfig;
import dev.sdmesh.unet.scheduler.Schedulers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every public pipeline case, denoised from the reference embeddings and the seed alone (no recorded latents):
 * txt2img, img2img and the 4-channel inpaint path give diffusers' final latents.
 */
class PipelineParityTest {
    private static UnetModels models;
    private static UnetEngine engine;

    @BeforeAll
    static void load() {
        var modelDir = ReferenceData.model();
        models = new UnetModels(new ModelRegistry(modelDir.getParent(), "model"),
                new SessionFactory(SessionSettings.cpuDefaults()));
        engine = new UnetEngine("test", 8, 0);
    }

    @AfterAll
    static void close() {
        if (engine != null) engine.close();
        if (models != null) models.close();
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : ReferenceData.json("cases.json").path("cases")) {
            if (c.path("public").asBoolean(true)) out.add(Arguments.of(c.path("id").asText(), c));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void finalLatentsMatchDiffusers(String id, JsonNode c) throws Exception {
        String dir = "cases/" + id + "/";
        UnetModels.Loaded model = models.get("model");
        var cond = ReferenceData.npy(dir + "cond_embeds.npy");
        int batch = (int) cond.shape()[0];
        boolean cfg = c.path("guidance_scale").asDouble() > 1;
        var scheduler = Schedulers.create(c.path("scheduler_class").asText(),
                SchedulerConfig.of(c.path("scheduler_config")), Map.of());
        long seed = c.path("seed").asLong();
        TorchGenerator generator = new TorchGenerator(seed);
        float[] initLatents = null;
        float[] mask = null;
        String pipeline = c.path("pipeline").asText();
        if (!pipeline.equals("txt2img")) {
            // vae-svc's part: the encoder's sample is the generator's first draw; the test takes diffusers' latents and
            // advances the generator past that draw, as vae-svc hands the state on.
            initLatents = ReferenceData.npy(dir + "init_latents.npy").toFloats();
            generator.randn(initLatents.length / (int) ReferenceData.npy(dir + "init_latents.npy").shape()[0]);
            if (pipeline.equals("inpaint")) {
                // Recorded after diffusers duplicated it for guidance: [uncond mask, cond mask]; one copy is the mask.
                float[] recorded = ReferenceData.npy(dir + "mask_latents.npy").toFloats();
                mask = java.util.Arrays.copyOf(recorded, batch * (c.path("height").asInt() / 8) * (c.path("width").asInt() / 8));
            }
        }
        int h = c.path("height").asInt() / 8;
        int w = c.path("width").asInt() / 8;
        DenoiseJob job = new DenoiseJob(id, batch, h, w, cond.toFloats(),
                cfg ? ReferenceData.npy(dir + "uncond_embeds.npy").toFloats() : null, (int) cond.shape()[1],
                scheduler, c.path("steps").asInt(), (float) c.path("guidance_scale").asDouble(), 0f, generator, null,
                initLatents == null ? 0 : (float) c.path("strength").asDouble(), initLatents, mask, null, 0);
        int[] progressCalls = {0};
        DenoiseRun run = new DenoiseRun(job, model.unet());
        float[] latents = engine.submit(run, (done, total, ms) -> progressCalls[0]++).result().get();
        float[] expected = ReferenceData.npy(dir + "final_latents.npy").toFloats();
        double error = ReferenceData.relativeL2(expected, latents);
        assertTrue(error < 1e-4, id + ": relative L2 " + error);
        assertEquals(run.totalCalls(), progressCalls[0], "one progress event per UNet call");
        assertEquals(c.path("unet_timesteps_fed").size(), run.totalCalls());
    }
}
