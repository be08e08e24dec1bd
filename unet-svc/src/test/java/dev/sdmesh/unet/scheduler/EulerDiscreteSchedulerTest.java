package dev.sdmesh.unet.scheduler;

import org.junit.jupiter.api.Test;

import static dev.sdmesh.unet.scheduler.HeunDiscreteSchedulerTest.SD_SIGMAS_2;
import static dev.sdmesh.unet.scheduler.LMSDiscreteSchedulerTest.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Euler's schedule options of diffusers 0.25 beyond the public traces. */
class EulerDiscreteSchedulerTest {

    /** EDM's {@code 0.25 * sigma.log()} in float32, only together with v-prediction. */
    @Test
    void continuousTimestepsAreAQuarterOfLogSigmaForVPrediction() {
        SchedulerConfig continuous = sdConfig().with("timestep_type", "continuous");
        EulerDiscreteScheduler v = new EulerDiscreteScheduler(continuous.with("prediction_type", "v_prediction"));
        v.setTimesteps(2);
        assertArrayEquals(SD_SIGMAS_2, v.sigmas());
        assertArrayEquals(new double[] {0.6705060005187988, -0.8836747407913208}, v.timesteps());
        EulerDiscreteScheduler epsilon = new EulerDiscreteScheduler(continuous);
        epsilon.setTimesteps(2);
        assertArrayEquals(new double[] {999.0, 0.0}, epsilon.timesteps());
    }

    /** Euler casts the Karras timesteps to float32; LMS keeps numpy's float64. */
    @Test
    void karrasTimestepsAreFloat32ForEulerButFloat64ForLms() {
        SchedulerConfig karras = sdConfig().with("use_karras_sigmas", true);
        EulerDiscreteScheduler euler = new EulerDiscreteScheduler(karras);
        euler.setTimesteps(10);
        LMSDiscreteScheduler lms = new LMSDiscreteScheduler(karras);
        lms.setTimesteps(10);
        double[] eulerTimesteps = euler.timesteps();
        double[] lmsTimesteps = lms.timesteps();
        assertArrayEquals(euler.sigmas(), lms.sigmas());
        boolean lmsHasFloat64 = false;
        for (int i = 0; i < eulerTimesteps.length; i++) {
            assertEquals((float) lmsTimesteps[i], eulerTimesteps[i], "timestep " + i);
            lmsHasFloat64 |= (float) lmsTimesteps[i] != lmsTimesteps[i];
        }
        assertTrue(lmsHasFloat64, "some float64 Karras timestep is not a float32 value");
    }

    /**
     * {@code torch.linspace(log(sigma_max), log(sigma_min), n + 1).exp()}: one more sigma than timesteps, from the
     * largest to the smallest training sigma, evenly spaced in log.
     */
    @Test
    void logLinearInterpolationSpansTheTrainingSigmasInLog() {
        EulerDiscreteScheduler scheduler = new EulerDiscreteScheduler(sdConfig().with("interpolation_type", "log_linear"));
        scheduler.setTimesteps(4);
        assertEquals(4, scheduler.timesteps().length);
        float[] sigmas = scheduler.sigmas();
        assertEquals(6, sigmas.length);
        assertEquals(0f, sigmas[5]);
        assertEquals(SD_SIGMAS_2[0], sigmas[0], 2e-6f * SD_SIGMAS_2[0]);
        assertEquals(sigmas[0], scheduler.initNoiseSigma());
        double ratio = Math.log(sigmas[1] / sigmas[0]);
        for (int i = 2; i < 5; i++) assertEquals(ratio, Math.log(sigmas[i] / sigmas[i - 1]), 1e-5, "step " + i);
        EulerDiscreteScheduler linear = new EulerDiscreteScheduler(sdConfig());
        linear.setTimesteps(4);
        assertNotEquals(linear.sigmas()[1], sigmas[1]);
    }
}
