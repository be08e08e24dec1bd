package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.random.TorchGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.sdmesh.unet.scheduler.AlphasCumprodReference.assertClose;
import static dev.sdmesh.unet.scheduler.AlphasCumprodReference.doubles;
import static dev.sdmesh.unet.scheduler.AlphasCumprodReference.linearAlphasCumprod;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * diffusers 0.25 {@code DDPMScheduler.step} for every variance_type on a 10-step linear schedule: µ_t of formula (7)
 * from the clipped x0 (clip_sample defaults to true), the previous timestep t - 10 // n, and noise scaled per
 * {@code _get_variance}, whose β_t is the one between t and prev_t (1 - ᾱ_t / ᾱ_prev), not betas[t].
 */
class DDPMSchedulerStepTest {
    private static final SchedulerConfig SMALL = SchedulerConfig.parse("""
            {"num_train_timesteps": 10, "beta_start": 0.1, "beta_end": 0.3, "beta_schedule": "linear"}""");
    private static final double[] ALPHAS_CUMPROD = linearAlphasCumprod(0.1, 0.3, 10);
    private static final float[] SAMPLE = {0.5f, -2.0f};
    private static final float[] EPSILON = {0.2f, 0.1f};
    /** The second half of a learned-variance model output. */
    private static final float[] PREDICTED_VARIANCE = {0.04f, 0.09f};

    @ParameterizedTest
    @ValueSource(strings = {"fixed_small", "fixed_small_log", "fixed_large", "learned", "learned_range", "fixed_medium"})
    void stepFromFourToTwo(String varianceType) {
        DDPMScheduler scheduler = new DDPMScheduler(SMALL.with("variance_type", varianceType));
        scheduler.setTimesteps(5);
        assertArrayEquals(new double[]{8, 6, 4, 2, 0}, scheduler.timesteps());
        boolean learned = varianceType.startsWith("learned");
        float[] modelOutput = learned ? new float[]{EPSILON[0], EPSILON[1], PREDICTED_VARIANCE[0], PREDICTED_VARIANCE[1]} : EPSILON;

        Scheduler.StepOutput out = scheduler.step(modelOutput, 4, SAMPLE, new TorchGenerator(11));

        double alphaT = ALPHAS_CUMPROD[4];
        double alphaPrev = ALPHAS_CUMPROD[2];
        double currentAlpha = alphaT / alphaPrev;
        double currentBeta = 1 - currentAlpha;
        double posteriorVariance = (1 - alphaPrev) / (1 - alphaT) * currentBeta;
        double[] noise = doubles(new TorchGenerator(11).randn(2));
        double[] x0 = new double[2];
        double[] expected = new double[2];
        for (int i = 0; i < 2; i++) {
            x0[i] = Math.min(Math.max((SAMPLE[i] - Math.sqrt(1 - alphaT) * EPSILON[i]) / Math.sqrt(alphaT), -1), 1);
            double mean = Math.sqrt(alphaPrev) * currentBeta / (1 - alphaT) * x0[i]
                    + Math.sqrt(currentAlpha) * (1 - alphaPrev) / (1 - alphaT) * SAMPLE[i];
            double std = switch (varianceType) {
                case "fixed_large" -> Math.sqrt(currentBeta);
                case "learned" -> Math.sqrt(PREDICTED_VARIANCE[i]);
                case "learned_range" -> {
                    double frac = (PREDICTED_VARIANCE[i] + 1) / 2;
                    yield Math.exp(0.5 * (frac * Math.log(currentBeta) + (1 - frac) * Math.log(posteriorVariance)));
                }
                // fixed_small_log's exp(0.5 * log(var)) is sqrt(var); an unknown name keeps diffusers' clamped var
                default -> Math.sqrt(posteriorVariance);
            };
            expected[i] = mean + std * noise[i];
        }
        assertEquals(-1.0f, out.predOriginalSample()[1], "clip_sample defaults to true");
        assertClose(x0, out.predOriginalSample(), "pred_original_sample");
        assertClose(expected, out.prevSample(), varianceType + " prev_sample");
    }

    /** At t = 0 the previous ᾱ is 1, so prev_sample is x0 itself and no noise is drawn. */
    @Test
    void lastStepReturnsTheCleanSampleWithoutDrawing() {
        DDPMScheduler scheduler = new DDPMScheduler(SMALL);
        scheduler.setTimesteps(5);
        TorchGenerator generator = new TorchGenerator(11);
        Scheduler.StepOutput out = scheduler.step(EPSILON, 0, SAMPLE, generator);
        assertArrayEquals(out.predOriginalSample(), out.prevSample());
        assertEquals(new TorchGenerator(11).toProto(), generator.toProto());
    }

    /**
     * GeoDiff's sigmoid schedule, which DDPM has and DDIM does not: β = sigmoid(linspace(-6, 6, n)) * (end - start)
     * + start, so the middle of 5 steps is exactly 0.1 + 0.4 / 2 = 0.3. add_noise(1, 0, t) reads sqrt(ᾱ_t) back.
     */
    @Test
    void sigmoidBetaSchedule() {
        SchedulerConfig sigmoid = SchedulerConfig.parse("""
                {"num_train_timesteps": 5, "beta_start": 0.1, "beta_end": 0.5, "beta_schedule": "sigmoid"}""");
        DDPMScheduler scheduler = new DDPMScheduler(sigmoid);
        double[] expectedSqrtAlphasCumprod = new double[5];
        double product = 1;
        for (int t = 0; t < 5; t++) {
            double beta = 0.1 + 0.4 / (1 + Math.exp(6 - 3 * t));
            product *= 1 - beta;
            expectedSqrtAlphasCumprod[t] = Math.sqrt(product);
        }
        float[] sqrtAlphasCumprod = new float[5];
        for (int t = 0; t < 5; t++) sqrtAlphasCumprod[t] = scheduler.addNoise(new float[]{1}, new float[]{0}, t)[0];
        assertClose(expectedSqrtAlphasCumprod, sqrtAlphasCumprod, "sqrt(alphas_cumprod)");
        double middleAlpha = Math.pow(sqrtAlphasCumprod[2] / (double) sqrtAlphasCumprod[1], 2);
        assertEquals(0.7, middleAlpha, 1e-6, "1 - beta at the midpoint");

        assertThrows(IllegalArgumentException.class, () -> new DDIMScheduler(sigmoid));
    }
}
