package dev.sdmesh.unet.scheduler;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** DPMSolverSDEScheduler config keys diffusers 0.25.1 does not have. */
class DPMSolverSDESchedulerConfigTest {

    @Test
    void rescaleBetasZeroSnrIsIgnored() {
        SchedulerConfig sd = SchedulerConfig.parse("""
                {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}""");
        DPMSolverSDEScheduler plain = new DPMSolverSDEScheduler(sd);
        DPMSolverSDEScheduler rescaled = new DPMSolverSDEScheduler(sd.with("rescale_betas_zero_snr", true));
        plain.setTimesteps(10);
        rescaled.setTimesteps(10);
        assertArrayEquals(plain.sigmas(), rescaled.sigmas());
        assertArrayEquals(plain.timesteps(), rescaled.timesteps());
    }
}
