package dev.sdmesh.unet.scheduler;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DPM++ 2M against diffusers 0.25.1: the public scheduler traces and the two public txt2img pipeline cases. */
class DPMSolverMultistepSchedulerTest {

    private static final double REL_TOL = 1e-5;

    /** The reference JSON holds diffusers' {@code lambda_min_clipped: -Infinity}, which needs the non-numeric feature. */
    private static JsonNode json(String name) {
        try {
            return JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build()
                    .readTree(ReferenceData.publicDir().resolve(name).toFile());
        } catch (IOException e) {
            throw new AssertionError("cannot read " + name, e);
        }
    }

    private static JsonNode pipelineCase(String id) {
        for (JsonNode c : json("cases.json").get("cases")) {
            if (c.get("id").asText().equals(id)) return c;
        }
        throw new AssertionError("no case " + id);
    }

    private static float[] file(JsonNode entry, String key) {
        return ReferenceData.npy(entry.get("files").get(key).get("file").asText()).toFloats();
    }

    private static float[] row(float[] stacked, int index, int rowLength) {
        return Arrays.copyOfRange(stacked, index * rowLength, (index + 1) * rowLength);
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        double rel = ReferenceData.relativeL2(expected, actual);
        assertTrue(rel <= REL_TOL, what + ": relative L2 " + rel + " > " + REL_TOL);
    }

    /** Within a few float32 ulps: the training alphas_cumprod comes from NoiseSchedule. */
    private static void assertSigmas(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, "sigma count");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 4 * Math.ulp(expected[i]), "sigma " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 10, 20, 50})
    void replaysTheSchedulerTrace(int steps) {
        String id = "dpmpp_2m_n" + steps;
        DPMSolverMultistepScheduler scheduler = new DPMSolverMultistepScheduler(SchedulerTraceReplay.config(id));
        SchedulerTraceReplay.replay(scheduler, id);
        assertSigmas(file(SchedulerTraceReplay.trace(id), "sigmas"), scheduler.sigmas());
    }

    @ParameterizedTest
    @ValueSource(strings = {"t2i_dpmpp2m_s20_g7.5", "t2i_dpmpp2m_s25_g7.5_64x96"})
    void replaysThePipelineCaseStepByStep(String id) {
        JsonNode c = pipelineCase(id);
        DPMSolverMultistepScheduler scheduler =
                new DPMSolverMultistepScheduler(SchedulerConfig.of(c.get("scheduler_config")));
        scheduler.setTimesteps(c.get("steps").asInt());
        double[] timesteps = scheduler.timesteps();
        double[] expectedTimesteps = new double[c.get("timesteps").size()];
        for (int i = 0; i < expectedTimesteps.length; i++) expectedTimesteps[i] = c.get("timesteps").get(i).asDouble();
        assertArrayEquals(expectedTimesteps, timesteps);
        assertSigmas(file(c, "scheduler_sigmas"), scheduler.sigmas());

        float[] guided = file(c, "guided_model_output");
        float[] stepIn = file(c, "step_sample_in");
        float[] stepPrev = file(c, "step_prev_sample");
        float[] after = file(c, "latents_after_step");
        float[] latents = file(c, "latents_before_loop");
        int size = latents.length;
        for (int i = 0; i < timesteps.length; i++) {
            // the recorded input pins each step, so one step's error cannot hide in the next
            float[] prev = scheduler.step(row(guided, i, size), timesteps[i], row(stepIn, i, size), null).prevSample();
            assertClose(row(stepPrev, i, size), prev, id + " step_prev_sample " + i);
        }

        DPMSolverMultistepScheduler chained =
                new DPMSolverMultistepScheduler(SchedulerConfig.of(c.get("scheduler_config")));
        chained.setTimesteps(c.get("steps").asInt());
        for (int i = 0; i < timesteps.length; i++) {
            latents = chained.step(row(guided, i, size), timesteps[i], latents, null).prevSample();
            assertClose(row(after, i, size), latents, id + " latents_after_step " + i);
        }
    }

    @Test
    void karrasSigmasChangeTheScheduleAndMapBackToTrainingTimesteps() {
        SchedulerConfig base = SchedulerTraceReplay.config("dpmpp_2m_n20");
        DPMSolverMultistepScheduler plain = new DPMSolverMultistepScheduler(base);
        DPMSolverMultistepScheduler karras = new DPMSolverMultistepScheduler(base.with("use_karras_sigmas", true));
        plain.setTimesteps(20);
        karras.setTimesteps(20);
        float[] sigmas = karras.sigmas();
        double[] timesteps = karras.timesteps();
        assertEquals(21, sigmas.length);
        assertEquals(20, timesteps.length);
        assertEquals(plain.sigmas()[0], sigmas[0], 1e-4f, "Karras starts at sigma_max");
        assertEquals(sigmas[19], sigmas[20], "diffusers 0.25 repeats the last Karras sigma");
        assertEquals(999.0, timesteps[0]);
        for (int i = 1; i < timesteps.length; i++) {
            assertTrue(timesteps[i] <= timesteps[i - 1], "timesteps descend");
            assertTrue(sigmas[i] < sigmas[i - 1], "sigmas descend");
        }
        assertNotEquals(Arrays.toString(plain.timesteps()), Arrays.toString(timesteps));
        // rho = 7 packs the steps toward low noise: more timesteps below 500 than the linear spacing has
        long lowKarras = Arrays.stream(timesteps).filter(t -> t < 500).count();
        long lowPlain = Arrays.stream(plain.timesteps()).filter(t -> t < 500).count();
        assertTrue(lowKarras > lowPlain, lowKarras + " <= " + lowPlain);
    }
}
