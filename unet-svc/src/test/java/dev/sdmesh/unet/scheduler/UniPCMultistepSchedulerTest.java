package dev.sdmesh.unet.scheduler;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;

import static dev.sdmesh.unet.scheduler.ExponentialSolversTest.create;
import static dev.sdmesh.unet.scheduler.ExponentialSolversTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** UniPCMultistepScheduler config handling as in diffusers 0.25.1. */
class UniPCMultistepSchedulerTest {

    @Test
    void rescaleBetasZeroSnrIsIgnored() {
        assertArrayEquals(run(create("unipc", Map.of()), 10, null),
                run(create("unipc", Map.of("rescale_betas_zero_snr", true)), 10, null));
    }

    @Test
    void ordersAboveThreeSolveTheirLargerSystem() {
        float[] fourth = run(create("unipc", Map.of("solver_order", 4)), 10, null);
        for (float v : fourth) assertTrue(Float.isFinite(v));
        assertFalse(Arrays.equals(run(create("unipc", Map.of("solver_order", 3)), 10, null), fourth));
    }
}
