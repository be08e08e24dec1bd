package dev.sdmesh.unet.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.function.Function;

import static dev.sdmesh.unet.scheduler.SchedulerTraceReplay.assertClose;
import static dev.sdmesh.unet.scheduler.SigmaReference.doubles;
import static dev.sdmesh.unet.scheduler.SigmaReference.file;
import static dev.sdmesh.unet.scheduler.SigmaReference.row;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Euler and Euler a inside the recorded diffusers txt2img runs: the recorded guided model outputs are fed through the
 * scheduler from {@code latents_before_loop}, with the pipeline's generator (seeded, then advanced past the latents
 * draw), and every step's sample and noise draw is compared.
 */
class SigmaSchedulerPipelineCaseTest {

    @ParameterizedTest
    @ValueSource(strings = {"t2i_euler_a_s20_g7.5", "t2i_euler_s20_g7.5_64x96_neg"})
    void replaysThePipelineCase(String id) {
        JsonNode c = SigmaReference.pipelineCase(id);
        SchedulerConfig config = SchedulerConfig.of(c.get("scheduler_config"));
        Function<SchedulerConfig, SigmaScheduler> factory = switch (c.get("scheduler_class").asText()) {
            case "EulerDiscreteScheduler" -> EulerDiscreteScheduler::new;
            case "EulerAncestralDiscreteScheduler" -> EulerAncestralDiscreteScheduler::new;
            default -> throw new AssertionError(c.get("scheduler_class").asText());
        };
        SigmaScheduler scheduler = factory.apply(config);
        scheduler.setTimesteps(c.get("steps").asInt());
        double[] timesteps = scheduler.timesteps();
        assertArrayEquals(doubles(c.get("timesteps")), timesteps);
        assertArrayEquals(doubles(c.get("unet_timesteps_fed")), timesteps);
        float[] expectedSigmas = file(c, "scheduler_sigmas");
        assertArrayEquals(expectedSigmas, scheduler.sigmas(), 1e-6f * expectedSigmas[0]);
        assertEquals(c.get("init_noise_sigma").floatValue(), scheduler.initNoiseSigma(), 1e-6f * expectedSigmas[0]);

        float[] latentsInput = file(c, "latents_input");
        int size = latentsInput.length;
        TorchGenerator generator = new TorchGenerator(c.get("seed").asLong());
        assertArrayEquals(latentsInput, generator.randn(size), "latents_input is the seed's first draw");
        float[] latents = new float[size];
        float sigma0 = scheduler.initNoiseSigma();
        for (int i = 0; i < size; i++) latents[i] = latentsInput[i] * sigma0;
        assertClose(file(c, "latents_before_loop"), latents, "latents_before_loop");

        // A second generator in the same state shows what the scheduler must have drawn.
        TorchGenerator mirror = new TorchGenerator(c.get("seed").asLong());
        mirror.randn(size);
        JsonNode draws = c.get("randn_draws_in_order");
        assertEquals(timesteps.length, draws.size(), "one scheduler draw per step");

        float[] unetSample = file(c, "unet_sample");
        float[] guided = file(c, "guided_model_output");
        float[] stepPrev = file(c, "step_prev_sample");
        float[] after = file(c, "latents_after_step");
        int batchRows = (int) (unetSample.length / ((long) timesteps.length * size));
        for (int i = 0; i < timesteps.length; i++) {
            float[] scaled = scheduler.scaleModelInput(latents, timesteps[i]);
            for (int b = 0; b < batchRows; b++) {
                // CFG feeds the same scaled latents as the uncond and the cond row.
                assertClose(row(unetSample, i * batchRows + b, size), scaled, id + " unet_sample " + i + "/" + b);
            }
            latents = scheduler.step(row(guided, i, size), timesteps[i], latents, generator).prevSample();
            assertClose(row(stepPrev, i, size), latents, id + " step_prev_sample " + i);
            assertClose(row(after, i, size), latents, id + " latents_after_step " + i);
            float[] expectedDraw = SigmaReference.file(c, String.format("randn_draw_%02d", i));
            assertArrayEquals(expectedDraw, mirror.randn(size), id + " randn_draw " + i);
        }
        assertArrayEquals(mirror.randn(16), generator.randn(16), "the scheduler drew exactly the recorded noise");
    }
}
