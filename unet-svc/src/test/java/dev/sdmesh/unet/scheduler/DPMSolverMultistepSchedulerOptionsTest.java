package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Map;

import static dev.sdmesh.unet.scheduler.ExponentialSolversTest.create;
import static dev.sdmesh.unet.scheduler.ExponentialSolversTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** DPMSolverMultistepScheduler options where diffusers 0.25.1 differs from later releases. */
class DPMSolverMultistepSchedulerOptionsTest {

    /**
     * The 0.25 schedule ends at the training sigma_min, sqrt((1 - ac0) / ac0) in float32 with the SD betas:
     * beta0 = fl32(fl32(sqrt(0.00085))^2) = 0.00084999995, ac0 = fl32(1 - beta0) = 0.99914998, sigma = 0.029167533.
     */
    private static final float SD_SIGMA_MIN = 0.029167532920837402f;

    @ParameterizedTest
    @ValueSource(strings = {"zero", "sigma_min"})
    void finalSigmasTypeFromNewerConfigsIsIgnored(String finalSigmasType) {
        DPMSolverMultistepScheduler newer = (DPMSolverMultistepScheduler) create("dpm-multistep",
                Map.of("final_sigmas_type", finalSigmasType));
        newer.setTimesteps(20);
        assertEquals(SD_SIGMA_MIN, newer.sigmas()[20]);
        // no forced first-order last step either: the whole run is the 0.25 run
        assertArrayEquals(run(create("dpm-multistep", Map.of()), 10, null),
                run(create("dpm-multistep", Map.of("final_sigmas_type", finalSigmasType)), 10, null));
        // 0.25 has no "zero needs dpmsolver++" check
        create("dpm-multistep", Map.of("algorithm_type", "dpmsolver", "final_sigmas_type", finalSigmasType));
    }

    @Test
    void rescaleBetasZeroSnrIsNotA025Option() {
        ExponentialSolverScheduler plain = create("dpm-multistep", Map.of());
        ExponentialSolverScheduler rescaled = create("dpm-multistep", Map.of("rescale_betas_zero_snr", true));
        plain.setTimesteps(10);
        rescaled.setTimesteps(10);
        assertArrayEquals(plain.sigmas(), rescaled.sigmas());
        assertArrayEquals(plain.timesteps(), rescaled.timesteps());
    }

    @Test
    void solverOrderAboveThreeRunsTheThirdOrderUpdate() {
        assertArrayEquals(run(create("dpm-multistep", Map.of("solver_order", 3)), 10, null),
                run(create("dpm-multistep", Map.of("solver_order", 4)), 10, null));
        assertFalse(Arrays.equals(run(create("dpm-multistep", Map.of("solver_order", 2)), 10, null),
                run(create("dpm-multistep", Map.of("solver_order", 4)), 10, null)));
    }

    /** model_output[:, :3] keeps each image's own mean channels (3-channel pixel model, learned variance). */
    @ParameterizedTest
    @ValueSource(strings = {"learned", "learned_range"})
    void learnedVarianceKeepsEachImagesMeanChannels(String varianceType) {
        int perImage = 3 * 8 * 8;
        TorchGenerator data = new TorchGenerator(11);
        float[] sample = data.randn(2 * perImage);
        float[] mean = data.randn(2 * perImage);
        float[] variance = data.randn(2 * perImage);
        float[] withVariance = new float[4 * perImage];
        for (int b = 0; b < 2; b++) {
            System.arraycopy(mean, b * perImage, withVariance, 2 * b * perImage, perImage);
            System.arraycopy(variance, b * perImage, withVariance, (2 * b + 1) * perImage, perImage);
        }
        ExponentialSolverScheduler learned = create("dpm-multistep", Map.of("variance_type", varianceType));
        ExponentialSolverScheduler meanOnly = create("dpm-multistep", Map.of());
        learned.setBatchSize(2);
        meanOnly.setBatchSize(2);
        learned.setTimesteps(10);
        meanOnly.setTimesteps(10);
        double t = learned.timesteps()[0];
        assertArrayEquals(meanOnly.step(mean, t, sample, null).prevSample(),
                learned.step(withVariance, t, sample, null).prevSample());
    }
}
