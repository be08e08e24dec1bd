package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import static dev.sdmesh.unet.scheduler.AlphasCumprodReference.assertClose;
import static dev.sdmesh.unet.scheduler.AlphasCumprodReference.doubles;
import static dev.sdmesh.unet.scheduler.AlphasCumprodReference.linearAlphasCumprod;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * diffusers 0.25 {@code LCMScheduler} on a 20-step linear schedule with original_inference_steps 4 (skipping step
 * k = 5, distillation timesteps 4, 9, 14, 19) and timestep_scaling 2.
 */
class LCMSchedulerStepTest {
    private static final SchedulerConfig SMALL = SchedulerConfig.parse("""
            {"num_train_timesteps": 20, "beta_start": 0.05, "beta_end": 0.15, "beta_schedule": "linear",
             "original_inference_steps": 4, "timestep_scaling": 2.0}""");
    private static final double[] ALPHAS_CUMPROD = linearAlphasCumprod(0.05, 0.15, 20);
    private static final float[] SAMPLE = {0.7f, -0.4f};
    private static final float[] EPSILON = {0.2f, 0.1f};

    /** n timesteps are taken from 19, 14, 9, 4 at indices floor(i * 4 / n). */
    @Test
    void timestepsAreEvenlySpacedIndicesIntoTheDistillationSchedule() {
        assertArrayEquals(new double[]{19, 14, 9, 4}, timesteps(4));
        assertArrayEquals(new double[]{19, 14, 9}, timesteps(3));
        assertArrayEquals(new double[]{19, 9}, timesteps(2));
        assertArrayEquals(new double[]{19}, timesteps(1));
        assertThrows(IllegalArgumentException.class, () -> timesteps(5));
        LCMScheduler noOriginalSteps = new LCMScheduler(SMALL.with("original_inference_steps", 0));
        assertThrows(IllegalArgumentException.class, () -> noOriginalSteps.setTimesteps(1));
    }

    /**
     * c_skip = σ_d² / ((2t)² + σ_d²) and c_out = 2t / sqrt((2t)² + σ_d²) with σ_d = 0.5; every step but the last
     * re-noises the consistency prediction to the next scheduled timestep with one randn of the sample's size.
     */
    @Test
    void boundaryConditionScalingsAndRenoising() {
        LCMScheduler scheduler = new LCMScheduler(SMALL);
        scheduler.setTimesteps(2);
        TorchGenerator generator = new TorchGenerator(5);
        Scheduler.StepOutput first = scheduler.step(EPSILON, 19, SAMPLE, generator);
        double[] denoised = denoised(19);
        double[] noise = doubles(new TorchGenerator(5).randn(2));
        double alphaNext = ALPHAS_CUMPROD[9];
        double[] renoised = new double[2];
        for (int i = 0; i < 2; i++) renoised[i] = Math.sqrt(alphaNext) * denoised[i] + Math.sqrt(1 - alphaNext) * noise[i];
        assertClose(denoised, first.predOriginalSample(), "denoised at 19");
        assertClose(renoised, first.prevSample(), "re-noised to 9");

        TorchGenerator afterFirst = new TorchGenerator(5);
        afterFirst.randn(2);
        Scheduler.StepOutput last = scheduler.step(EPSILON, 9, SAMPLE, generator);
        assertClose(denoised(9), last.prevSample(), "the last step returns denoised");
        assertEquals(afterFirst.toProto(), generator.toProto(), "the last step draws nothing");
    }

    /** img2img starts at timesteps[t_start]: the step index comes from that timestep, so a late start is the last step. */
    @Test
    void img2imgStartLocatesTheStepIndex() {
        LCMScheduler scheduler = new LCMScheduler(SMALL);
        scheduler.setTimesteps(2);
        TorchGenerator generator = new TorchGenerator(5);
        Scheduler.StepOutput out = scheduler.step(EPSILON, 9, SAMPLE, generator);
        assertClose(denoised(9), out.prevSample(), "a start at the last timestep only denoises");
        assertEquals(new TorchGenerator(5).toProto(), generator.toProto());
    }

    private static double[] timesteps(int n) {
        LCMScheduler scheduler = new LCMScheduler(SMALL);
        scheduler.setTimesteps(n);
        return scheduler.timesteps();
    }

    private static double[] denoised(int t) {
        double alpha = ALPHAS_CUMPROD[t];
        double scaled = 2.0 * t;
        double cSkip = 0.25 / (scaled * scaled + 0.25);
        double cOut = scaled / Math.sqrt(scaled * scaled + 0.25);
        double[] out = new double[2];
        for (int i = 0; i < 2; i++) {
            double x0 = (SAMPLE[i] - Math.sqrt(1 - alpha) * EPSILON[i]) / Math.sqrt(alpha);
            out[i] = cOut * x0 + cSkip * SAMPLE[i];
        }
        return out;
    }
}
