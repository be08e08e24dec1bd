package dev.sdmesh.unet.scheduler;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.sdmesh.unet.scheduler.ExponentialSolversTest.create;
import static dev.sdmesh.unet.scheduler.ExponentialSolversTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** DEISMultistepScheduler config handling as in diffusers 0.25.1. */
class DEISMultistepSchedulerTest {

    @Test
    void solverOrderAboveThreeRunsTheThirdOrderUpdate() {
        assertArrayEquals(run(create("deis", Map.of("solver_order", 3)), 10, null),
                run(create("deis", Map.of("solver_order", 5)), 10, null));
    }

    @Test
    void rescaleBetasZeroSnrIsIgnored() {
        assertArrayEquals(run(create("deis", Map.of()), 10, null),
                run(create("deis", Map.of("rescale_betas_zero_snr", true)), 10, null));
    }
}
