package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.sdmesh.unet.scheduler.HeunDiscreteSchedulerTest.SD_SIGMAS_2;
import static dev.sdmesh.unet.scheduler.LMSDiscreteSchedulerTest.F;
import static dev.sdmesh.unet.scheduler.LMSDiscreteSchedulerTest.X0;
import static dev.sdmesh.unet.scheduler.LMSDiscreteSchedulerTest.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * KDPM2 ancestral's noise: diffusers 0.25 draws {@code randn(model_output.shape, generator)} on every call but adds it
 * (times sigma_up) only after the second-order call. The expected samples are a numpy float32 replay that used
 * torch's own {@code randn(7, generator=manual_seed(42))} as the second call's noise.
 */
class KDPM2AncestralDiscreteSchedulerTest {

    @Test
    void onlyTheSecondOrderCallAddsItsOwnDraw() {
        KDPM2AncestralDiscreteScheduler scheduler = new KDPM2AncestralDiscreteScheduler(sdConfig());
        scheduler.setTimesteps(2);
        float[] s = SD_SIGMAS_2;
        // torch.cat([sigmas[:1], sigmas[1:].repeat_interleave(2), sigmas[-1:]]) keeps the final 0 three times.
        assertArrayEquals(new float[] {s[0], s[1], s[1], s[2], s[2], s[2]}, scheduler.sigmas());
        float[][] expected = {
                {15.363648414611816f, 6.919887065887451f, 9.140361785888672f, 10.275100708007812f,
                        -10.615236282348633f, -6.547086715698242f, -23.40194320678711f},
                {-4.896303653717041f, -3.5284605026245117f, -3.1153528690338135f, -1.8502267599105835f,
                        3.0520670413970947f, 3.7128713130950928f, 7.944481372833252f},
                {-4.890778541564941f, -3.497756004333496f, -3.1077284812927246f, -1.8769166469573975f,
                        3.054835796356201f, 3.675795555114746f, 7.927152633666992f}};
        // First-order calls draw too, but whatever they draw leaves the sample alone.
        long[] seeds = {7, 42, 1234};
        float sigma = scheduler.initNoiseSigma();
        float[] sample = new float[X0.length];
        for (int i = 0; i < sample.length; i++) sample[i] = X0[i] * sigma;
        double[] timesteps = scheduler.timesteps();
        for (int c = 0; c < timesteps.length; c++) {
            float[] scaled = scheduler.scaleModelInput(sample, timesteps[c]);
            TorchGenerator generator = new TorchGenerator(seeds[c]);
            sample = scheduler.step(SigmaReference.fakeModel(scaled, F), timesteps[c], sample, generator).prevSample();
            assertArrayEquals(expected[c], sample, "call " + c);
        }
    }

    @Test
    void everyCallDrawsOneNoiseTensor() {
        KDPM2AncestralDiscreteScheduler scheduler = new KDPM2AncestralDiscreteScheduler(sdConfig());
        scheduler.setTimesteps(3);
        TorchGenerator generator = new TorchGenerator(5);
        TorchGenerator mirror = new TorchGenerator(5);
        float[] sample = Arrays.copyOf(X0, X0.length);
        for (double t : scheduler.timesteps()) {
            float[] scaled = scheduler.scaleModelInput(sample, t);
            sample = scheduler.step(SigmaReference.fakeModel(scaled, F), t, sample, generator).prevSample();
            mirror.randn(X0.length);
        }
        assertArrayEquals(mirror.randn(X0.length), generator.randn(X0.length), "5 calls, 5 draws");
    }
}
