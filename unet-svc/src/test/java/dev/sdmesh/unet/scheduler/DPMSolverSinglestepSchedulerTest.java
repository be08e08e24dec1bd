package dev.sdmesh.unet.scheduler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Map;

import static dev.sdmesh.unet.scheduler.ExponentialSolversTest.create;
import static dev.sdmesh.unet.scheduler.ExponentialSolversTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** DPMSolverSinglestepScheduler's order list as diffusers 0.25.1 builds it. */
class DPMSolverSinglestepSchedulerTest {

    /**
     * 0.25's get_order_list gives order 2 with an even step count [1, 2] * (steps // 2) whether or not
     * lower_order_final is set (the [.., 1, 1] ending is diffusers 0.27's, PR #6953).
     */
    @ParameterizedTest
    @ValueSource(ints = {2, 4, 10})
    void evenOrderTwoRunsEndOnASecondOrderStep(int steps) {
        float[] lowered = run(create("dpm-singlestep", Map.of()), steps, null);
        assertArrayEquals(run(create("dpm-singlestep", Map.of("lower_order_final", false)), steps, null), lowered);
        // and that last step is second order: a first-order-only run differs
        assertFalse(Arrays.equals(run(create("dpm-multistep", Map.of("solver_order", 1)), steps, null),
                lowered));
    }

    @Test
    void orderThreeEndsOnAShortGroupWhenTheStepsSplitEvenly() {
        // 3 steps: [1, 2, 1] lowered, [1, 2, 3] not
        assertFalse(Arrays.equals(run(create("dpm-singlestep", Map.of("solver_order", 3)), 3, null),
                run(create("dpm-singlestep", Map.of("solver_order", 3, "lower_order_final", false)), 3, null)));
    }

    @Test
    void rescaleBetasZeroSnrIsIgnored() {
        assertArrayEquals(run(create("dpm-singlestep", Map.of()), 6, null),
                run(create("dpm-singlestep", Map.of("rescale_betas_zero_snr", true)), 6, null));
    }
}
