package dev.sdmesh.unet.scheduler;

import org.junit.jupiter.api.Test;

import static dev.sdmesh.unet.scheduler.HeunDiscreteSchedulerTest.SD_SIGMAS_2;
import static dev.sdmesh.unet.scheduler.LMSDiscreteSchedulerTest.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * KDPM2 against a numpy float32 replay of diffusers 0.25: the half step to the geometric midpoint
 * {@code exp(log(sigma).lerp(log(sigma_prev), 0.5))}, the sample kept for the second-order call, and the input
 * scaling by the midpoint sigma on that call.
 */
class KDPM2DiscreteSchedulerTest {

    @Test
    void midpointStepsMatchTheReplay() {
        KDPM2DiscreteScheduler scheduler = new KDPM2DiscreteScheduler(sdConfig().with("prediction_type", "v_prediction"));
        scheduler.setTimesteps(2);
        float[] s = SD_SIGMAS_2;
        // torch.cat([sigmas[:1], sigmas[1:].repeat_interleave(2), sigmas[-1:]]) keeps the final 0 three times.
        assertArrayEquals(new float[] {s[0], s[1], s[1], s[2], s[2], s[2]}, scheduler.sigmas());
        float[] expected = {13.207329750061035f, 0.974358320236206f, 7.09221887588501f, 14.189902305603027f,
                -10.273286819458008f, 0.4940313398838043f, -18.586870193481445f};
        assertArrayEquals(expected, LMSDiscreteSchedulerTest.run(scheduler, 3));
    }
}
