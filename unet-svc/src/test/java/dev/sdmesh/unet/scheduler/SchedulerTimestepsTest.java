package dev.sdmesh.unet.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Timestep schedules against the facts the reference README states and the schedules the public cases record. */
class SchedulerTimestepsTest {
    /** The SD 1.5 scheduler config the reference model ships (PNDM, steps_offset 1, leading spacing). */
    private static final SchedulerConfig SD15 = SchedulerConfig.parse("""
            {"beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false,
             "num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1}""");

    /** README: leading spacing is arange(0, n) * (1000 // n) + 1, reversed, for DDIM, DDPM and PNDM's base. */
    @ParameterizedTest
    @ValueSource(ints = {1, 4, 10, 20, 25, 50, 1000})
    void leadingSpacingWithStepsOffset(int n) {
        double[] expected = new double[n];
        for (int i = 0; i < n; i++) expected[n - 1 - i] = i * (1000 / n) + 1;
        assertArrayEquals(expected, timesteps(DDIMScheduler::new, SD15, n));
        assertArrayEquals(expected, timesteps(DDPMScheduler::new, SD15, n));
    }

    @Test
    void readmeExamplesForLeadingSpacing() {
        double[] twenty = timesteps(DDIMScheduler::new, SD15, 20);
        assertEquals(951, twenty[0]);
        assertEquals(1, twenty[19]);
        assertArrayEquals(new double[]{1}, timesteps(DDIMScheduler::new, SD15, 1));
    }

    /** README: PLMS repeats the second timestep, so n steps take n + 1 UNet calls. */
    @ParameterizedTest
    @ValueSource(ints = {2, 4, 10, 25, 50})
    void plmsRepeatsTheSecondTimestep(int n) {
        double[] ddim = timesteps(DDIMScheduler::new, SD15, n);
        double[] plms = timesteps(PNDMScheduler::new, SD15, n);
        assertEquals(n + 1, plms.length);
        assertEquals(ddim[0], plms[0]);
        assertEquals(ddim[1], plms[1]);
        assertEquals(ddim[1], plms[2]);
        assertArrayEquals(Arrays.copyOfRange(ddim, 1, n), Arrays.copyOfRange(plms, 2, n + 1));
    }

    /** Without skip_prk_steps: 12 Runge-Kutta calls (the last four timesteps and their half steps), then PLMS. */
    @Test
    void prkScheduleWithoutSkipping() {
        double[] ddim = timesteps(DDIMScheduler::new, SD15, 10);
        double[] pndm = timesteps(PNDMScheduler::new, SD15.with("skip_prk_steps", false), 10);
        assertEquals(12 + 7, pndm.length);
        double half = 1000 / 10 / 2;
        // each RK step from d_k to d_{k+1} evaluates at d_k, twice at the midpoint d_{k+1} + half, then at d_{k+1}
        double[] expectedPrk = {
                ddim[0], ddim[1] + half, ddim[1] + half, ddim[1], ddim[1], ddim[2] + half,
                ddim[2] + half, ddim[2], ddim[2], ddim[3] + half, ddim[3] + half, ddim[3]};
        assertArrayEquals(expectedPrk, Arrays.copyOfRange(pndm, 0, 12));
        assertArrayEquals(Arrays.copyOfRange(ddim, 3, 10), Arrays.copyOfRange(pndm, 12, 19));
    }

    /** linspace reaches both ends of the training range; trailing starts at 999 with even strides. */
    @Test
    void linspaceAndTrailingSpacing() {
        double[] linspace = timesteps(DDIMScheduler::new, SD15.with("timestep_spacing", "linspace"), 10);
        assertEquals(999, linspace[0]);
        assertEquals(0, linspace[9]);
        assertEquals(10, linspace.length);
        double[] trailing = timesteps(DDIMScheduler::new, SD15.with("timestep_spacing", "trailing"), 10);
        double[] expected = new double[10];
        for (int i = 0; i < 10; i++) expected[i] = 999 - 100 * i;
        assertArrayEquals(expected, trailing);
        assertArrayEquals(new double[]{0}, timesteps(DDIMScheduler::new, SD15.with("timestep_spacing", "linspace"), 1));
    }

    /** LCM picks n of the 50 distillation timesteps 20k - 1, evenly by index, starting from 999. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4, 8, 26, 50})
    void lcmSkipsOverTheDistillationSchedule(int n) {
        double[] lcm = timesteps(LCMScheduler::new, SD15, n);
        assertEquals(n, lcm.length);
        assertEquals(999, lcm[0]);
        for (int i = 0; i < n; i++) {
            assertEquals(19, lcm[i] % 20, "timestep " + lcm[i] + " is not on the distillation schedule");
            if (i > 0) assertTrue(lcm[i] < lcm[i - 1], "not descending at " + i);
            assertEquals(999 - 20 * Math.floor(i * 50.0 / n), lcm[i]);
        }
    }

    /** Every public pipeline case run with one of these schedulers recorded its full schedule. */
    @Test
    void matchesThePublicCases() {
        int checked = 0;
        for (JsonNode c : SchedulerTraceReplay.publicJson("cases.json").get("cases")) {
            Function<SchedulerConfig, Scheduler> factory = SchedulerCaseReplayTest.FACTORIES.get(c.get("scheduler_class").asText());
            if (factory == null) continue;
            double[] expected = new double[c.get("timesteps").size()];
            for (int i = 0; i < expected.length; i++) expected[i] = c.get("timesteps").get(i).asDouble();
            assertArrayEquals(expected, timesteps(factory, SchedulerConfig.of(c.get("scheduler_config")), c.get("steps").asInt()),
                    c.get("id").asText());
            checked++;
        }
        assertTrue(checked > 0, "no public case uses DDIM, DDPM, PNDM or LCM");
    }

    private static double[] timesteps(Function<SchedulerConfig, Scheduler> factory, SchedulerConfig config, int n) {
        Scheduler scheduler = factory.apply(config);
        scheduler.setTimesteps(n);
        return scheduler.timesteps();
    }
}
