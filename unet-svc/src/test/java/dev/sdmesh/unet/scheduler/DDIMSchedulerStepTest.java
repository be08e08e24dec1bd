package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import static dev.sdmesh.unet.scheduler.AlphasCumprodReference.assertClose;
import static dev.sdmesh.unet.scheduler.AlphasCumprodReference.doubles;
import static dev.sdmesh.unet.scheduler.AlphasCumprodReference.linearAlphasCumprod;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * DDIM options the public traces do not reach (they use epsilon, eta 0 and leading spacing): one step at a time on a
 * 10-step linear schedule, against diffusers 0.25's {@code DDIMScheduler.step} formulas (12) and (16).
 */
class DDIMSchedulerStepTest {
    private static final SchedulerConfig SMALL = SchedulerConfig.parse("""
            {"num_train_timesteps": 10, "beta_start": 0.1, "beta_end": 0.3, "beta_schedule": "linear"}""");
    private static final double[] ALPHAS_CUMPROD = linearAlphasCumprod(0.1, 0.3, 10);

    /**
     * v_prediction with eta 0.5 and clip_sample_range 0.5: x0 and ε come from v, only x0 is clipped, σ_t = η·sqrt(var)
     * shrinks the direction term, and one randn of the sample's size from the passed generator adds σ_t·z.
     */
    @Test
    void vPredictionWithEtaDrawsNoiseAndClipsToTheRange() {
        DDIMScheduler scheduler = new DDIMScheduler(SMALL.with("prediction_type", "v_prediction")
                .with("eta", 0.5).with("clip_sample_range", 0.5));
        scheduler.setTimesteps(2);
        assertArrayEquals(new double[]{5, 0}, scheduler.timesteps());

        float[] sample = {0.8f, -1.2f};
        float[] v = {0.3f, 2.0f};
        TorchGenerator generator = new TorchGenerator(3);
        Scheduler.StepOutput out = scheduler.step(v, 5, sample, generator);

        double alphaT = ALPHAS_CUMPROD[5];
        double alphaPrev = ALPHAS_CUMPROD[0]; // prev_timestep = 5 - 10 // 2
        double[] noise = doubles(new TorchGenerator(3).randn(2));
        double variance = (1 - alphaPrev) / (1 - alphaT) * (1 - alphaT / alphaPrev);
        double std = 0.5 * Math.sqrt(variance);
        double[] x0 = new double[2];
        double[] expected = new double[2];
        for (int i = 0; i < 2; i++) {
            double unclipped = Math.sqrt(alphaT) * sample[i] - Math.sqrt(1 - alphaT) * v[i];
            x0[i] = Math.min(Math.max(unclipped, -0.5), 0.5);
            double epsilon = Math.sqrt(alphaT) * v[i] + Math.sqrt(1 - alphaT) * sample[i];
            expected[i] = Math.sqrt(alphaPrev) * x0[i] + Math.sqrt(1 - alphaPrev - std * std) * epsilon + std * noise[i];
        }
        assertEquals(-0.5f, out.predOriginalSample()[1], "the second x0 is clipped to -clip_sample_range");
        assertClose(x0, out.predOriginalSample(), "pred_original_sample");
        assertClose(expected, out.prevSample(), "prev_sample");
        TorchGenerator advanced = new TorchGenerator(3);
        advanced.randn(2);
        assertEquals(advanced.toProto(), generator.toProto(), "exactly one randn(2) per step");
    }

    /**
     * trailing spacing gives 9, 6, 2 for 3 of 10 steps, yet prev_timestep is still t - 10 // 3, so the step from t = 2
     * reaches past 0 and takes final_alpha_cumprod: ᾱ_0 without set_alpha_to_one, 1 with it. Thresholding (ratio 1
     * takes the largest |x0|, capped at sample_max_value 2) wins over clip_sample; ε comes from the unthresholded x0.
     */
    @Test
    void samplePredictionThresholdsAndUsesTheFinalAlphaAtTheEnd() {
        SchedulerConfig config = SMALL.with("timestep_spacing", "trailing").with("prediction_type", "sample")
                .with("thresholding", true).with("dynamic_thresholding_ratio", 1.0).with("sample_max_value", 2.0)
                .with("clip_sample", true).with("clip_sample_range", 0.1);
        float[] sample = {0.1f, 0.2f, 0.3f, 0.4f};
        float[] predicted = {3f, -1.5f, 0.5f, 1f};
        double[] thresholded = {1, -0.75, 0.25, 0.5};

        DDIMScheduler alphaZero = new DDIMScheduler(config.with("set_alpha_to_one", false));
        alphaZero.setTimesteps(3);
        assertArrayEquals(new double[]{9, 6, 2}, alphaZero.timesteps());
        Scheduler.StepOutput out = alphaZero.step(predicted, 2, sample, new TorchGenerator(0));
        double alphaT = ALPHAS_CUMPROD[2];
        double alphaPrev = ALPHAS_CUMPROD[0];
        double[] expected = new double[4];
        for (int i = 0; i < 4; i++) {
            double epsilon = (sample[i] - Math.sqrt(alphaT) * predicted[i]) / Math.sqrt(1 - alphaT);
            expected[i] = Math.sqrt(alphaPrev) * thresholded[i] + Math.sqrt(1 - alphaPrev) * epsilon;
        }
        assertClose(thresholded, out.predOriginalSample(), "thresholded x0");
        assertClose(expected, out.prevSample(), "prev_sample with final alpha ᾱ_0");

        DDIMScheduler alphaOne = new DDIMScheduler(config.with("set_alpha_to_one", true));
        alphaOne.setTimesteps(3);
        assertClose(thresholded, alphaOne.step(predicted, 2, sample, new TorchGenerator(0)).prevSample(),
                "prev_sample with final alpha 1 is x0");
    }
}
