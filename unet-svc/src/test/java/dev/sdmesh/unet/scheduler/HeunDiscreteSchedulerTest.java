package dev.sdmesh.unet.scheduler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.function.Function;
import java.util.stream.Stream;

import static dev.sdmesh.unet.scheduler.LMSDiscreteSchedulerTest.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Heun against numpy float32 replays of diffusers 0.25's {@code step} (the first-order state kept for the corrector,
 * clip_sample, v-prediction), its {@code "exp"} beta schedule, and the Karras bounds its {@code _convert_to_karras}
 * reads from the config.
 */
class HeunDiscreteSchedulerTest {

    /** diffusers' sigmas for the SD 1.5 schedule with 2 linspace steps (the public euler_n2 trace). */
    static final float[] SD_SIGMAS_2 = {14.614645004272461f, 0.029167532920837402f, 0.0f};

    private static HeunDiscreteScheduler heun(SchedulerConfig config) {
        HeunDiscreteScheduler scheduler = new HeunDiscreteScheduler(config);
        scheduler.setTimesteps(2);
        float[] s = SD_SIGMAS_2;
        assertArrayEquals(new float[] {s[0], s[1], s[1], s[2]}, scheduler.sigmas());
        return scheduler;
    }

    @Test
    void predictorCorrectorAndFinalEulerStepMatchTheReplay() {
        float[] expected = {5.2313690185546875f, 1.7091933488845825f, 3.0126588344573975f, 4.195544242858887f,
                -3.7638161182403564f, -1.4329195022583008f, -7.769269943237305f};
        assertArrayEquals(expected, LMSDiscreteSchedulerTest.run(heun(sdConfig()), 3));
    }

    @Test
    void vPredictionClipsTheDenoisedEstimate() {
        HeunDiscreteScheduler scheduler = heun(sdConfig().with("prediction_type", "v_prediction")
                .with("clip_sample", true).with("clip_sample_range", 2.0));
        // x0 is clipped to +-2 at every call; the last step to sigma 0 lands on it.
        assertArrayEquals(new float[] {2f, 2f, 2f, 2f, -2f, -2f, -2f}, LMSDiscreteSchedulerTest.run(scheduler, 3));
        HeunDiscreteScheduler twoCalls = heun(sdConfig().with("prediction_type", "v_prediction")
                .with("clip_sample", true).with("clip_sample_range", 2.0));
        float[] afterCorrector = {8.907328605651855f, 2.9681692123413086f, 5.138702869415283f, 7.081172943115234f,
                -6.395231246948242f, -2.511162757873535f, -13.246516227722168f};
        assertArrayEquals(afterCorrector, firstCalls(twoCalls, 2));
    }

    private static float[] firstCalls(Scheduler scheduler, int calls) {
        float sigma = scheduler.initNoiseSigma();
        float[] sample = new float[LMSDiscreteSchedulerTest.X0.length];
        for (int i = 0; i < sample.length; i++) sample[i] = LMSDiscreteSchedulerTest.X0[i] * sigma;
        double[] timesteps = scheduler.timesteps();
        for (int c = 0; c < calls; c++) {
            float[] scaled = scheduler.scaleModelInput(sample, timesteps[c]);
            sample = scheduler.step(SigmaReference.fakeModel(scaled, LMSDiscreteSchedulerTest.F), timesteps[c], sample,
                    null).prevSample();
        }
        return sample;
    }

    /** {@code betas_for_alpha_bar(1000, alpha_transform_type="exp")}; only Heun's {@code __init__} accepts it. */
    @Test
    void expBetaScheduleIsHeunsAlone() {
        HeunDiscreteScheduler scheduler = new HeunDiscreteScheduler(SchedulerConfig.empty().with("beta_schedule", "exp"));
        scheduler.setTimesteps(2);
        float[] trainEnds = {403.4220886230469f, 0.10987384617328644f};
        assertArrayEquals(new float[] {trainEnds[0], trainEnds[1], trainEnds[1], 0f}, scheduler.sigmas());
        SchedulerConfig exp = SchedulerConfig.empty().with("beta_schedule", "exp");
        assertThrows(IllegalArgumentException.class, () -> new LMSDiscreteScheduler(exp));
        assertThrows(IllegalArgumentException.class, () -> new KDPM2DiscreteScheduler(exp));
        assertThrows(IllegalArgumentException.class, () -> new EulerDiscreteScheduler(exp));
    }

    static Stream<Arguments> karrasSchedulers() {
        return Stream.<Function<SchedulerConfig, SigmaScheduler>>of(EulerDiscreteScheduler::new,
                HeunDiscreteScheduler::new, KDPM2DiscreteScheduler::new, KDPM2AncestralDiscreteScheduler::new)
                .map(Arguments::of);
    }

    /**
     * {@code _convert_to_karras} of Euler, Heun and both KDPM2 classes takes {@code sigma_min}/{@code sigma_max} from
     * the config when present (LMS's does not): float64 rho-7 ramp from 10 to 0.1, stored as float32.
     */
    @ParameterizedTest
    @MethodSource("karrasSchedulers")
    void karrasBoundsComeFromTheConfig(Function<SchedulerConfig, SigmaScheduler> factory) {
        SchedulerConfig config = sdConfig().with("use_karras_sigmas", true).with("sigma_min", 0.1)
                .with("sigma_max", 10.0);
        SigmaScheduler scheduler = factory.apply(config);
        scheduler.setTimesteps(5);
        float[] expected = {10.0f, 4.070104122161865f, 1.4507321119308472f, 0.4324527978897095f, 0.10000000149011612f};
        float[] sigmas = scheduler.sigmas();
        int order = scheduler.order();
        for (int k = 0; k < expected.length; k++) {
            assertEquals(expected[k], sigmas[k == 0 ? 0 : order * k - (order - 1)], "sigma " + k);
        }
        LMSDiscreteScheduler lms = new LMSDiscreteScheduler(config);
        lms.setTimesteps(5);
        assertEquals(SD_SIGMAS_2[0], lms.sigmas()[0], 1e-5f, "LMS keeps the schedule's own sigma_max");
    }
}
