package dev.sdmesh.unet.scheduler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * LMS against numbers computed outside this code: scipy's {@code integrate.quad} over the torch-float32 integrand of
 * {@code get_lms_coefficient}, and numpy float32 replays of diffusers' {@code step}, on the SD 1.5 sigmas of the
 * public {@code euler_n10} trace.
 */
class LMSDiscreteSchedulerTest {

    /** diffusers' sigmas for the SD 1.5 schedule with 10 linspace steps (the public euler_n10 trace). */
    static final float[] SD_SIGMAS_10 = {14.614645004272461f, 7.8398847579956055f, 4.609175682067871f,
            2.9183082580566406f, 1.9501622915267944f, 1.34492826461792f, 0.9323583245277405f, 0.6249772906303406f,
            0.36865851283073425f, 0.029167532920837402f, 0.0f};
    /** The sample and fake-model constant of the replays: x = X0 * init_noise_sigma, model = 0.1 * scaled + F. */
    static final float[] X0 = {1.5f, -0.25f, 0.75f, 2.0f, -1.25f, 0.5f, -2.0f};
    static final float[] F = {0.3f, -0.7f, 0.05f, 1.1f, -0.4f, 0.9f, -0.2f};

    static SchedulerConfig sdConfig() {
        return SchedulerConfig.empty().with("beta_schedule", "scaled_linear").with("beta_start", 0.00085)
                .with("beta_end", 0.012).with("steps_offset", 1);
    }

    private static LMSDiscreteScheduler lms(SchedulerConfig config) {
        LMSDiscreteScheduler scheduler = new LMSDiscreteScheduler(config);
        scheduler.setTimesteps(10);
        assertArrayEquals(SD_SIGMAS_10, scheduler.sigmas());
        return scheduler;
    }

    /**
     * These coefficients are the ones whose float32 value differs from that of the exact integral: diffusers' quad
     * integrates float32-rounded polynomial values, and the step multiplies by the float32 coefficient.
     */
    @Test
    void coefficientsAreScipyQuadOfTheFloat32Integrand() {
        LMSDiscreteScheduler scheduler = lms(sdConfig());
        assertEquals(0.727107142843849, scheduler.lmsCoefficient(3, 2, 1), 0.0);
        assertEquals(-0.09190526255313637, scheduler.lmsCoefficient(3, 2, 2), 0.0);
        assertEquals(-0.9429905831828381, scheduler.lmsCoefficient(4, 4, 0), 0.0);
        assertEquals(-0.9152063740919893, scheduler.lmsCoefficient(4, 8, 0), 0.0);
        assertEquals(0.9717292813878865, scheduler.lmsCoefficient(4, 8, 1), 0.0);
        assertEquals(-0.47306144049656995, scheduler.lmsCoefficient(4, 8, 2), 0.0);
        assertEquals(0.07704762793520327, scheduler.lmsCoefficient(4, 8, 3), 0.0);
        assertEquals(0.004923050424218162, scheduler.lmsCoefficient(4, 9, 1), 0.0);
    }

    static Stream<Arguments> runs() {
        return Stream.of(
                Arguments.of("epsilon", new float[] {12.497794151306152f, 5.575535774230957f, 7.427128314971924f,
                        8.416108131408691f, -8.647482872009277f, -5.259918212890625f, -19.02018928527832f}),
                Arguments.of("v_prediction", new float[] {0.851428210735321f, 0.7591032981872559f,
                        0.5643308162689209f, 0.16492150723934174f, -0.501598596572876f, -0.8251234889030457f,
                        -1.4124709367752075f}));
    }

    @ParameterizedTest
    @MethodSource("runs")
    void tenStepsOfOrderUpToFourMatchTheFloat32Replay(String predictionType, float[] expected) {
        LMSDiscreteScheduler scheduler = lms(sdConfig().with("prediction_type", predictionType));
        assertArrayEquals(expected, run(scheduler, 10), predictionType);
    }

    /** The last sample of the replay loop over every scheduler timestep. */
    static float[] run(Scheduler scheduler, int calls) {
        float sigma = scheduler.initNoiseSigma();
        float[] sample = new float[X0.length];
        for (int i = 0; i < sample.length; i++) sample[i] = X0[i] * sigma;
        double[] timesteps = scheduler.timesteps();
        assertEquals(calls, timesteps.length);
        for (double t : timesteps) {
            float[] scaled = scheduler.scaleModelInput(sample, t);
            sample = scheduler.step(SigmaReference.fakeModel(scaled, F), t, sample, null).prevSample();
        }
        return sample;
    }

    static Stream<Arguments> classesWithoutZeroSnr() {
        return Stream.<Function<SchedulerConfig, SigmaScheduler>>of(LMSDiscreteScheduler::new,
                HeunDiscreteScheduler::new, KDPM2DiscreteScheduler::new, KDPM2AncestralDiscreteScheduler::new)
                .map(Arguments::of);
    }

    /** Their diffusers classes have no {@code rescale_betas_zero_snr}; a key left by another class's config is inert. */
    @ParameterizedTest
    @MethodSource("classesWithoutZeroSnr")
    void zeroSnrRescalingOfOtherClassesIsIgnored(Function<SchedulerConfig, SigmaScheduler> factory) {
        SigmaScheduler plain = factory.apply(sdConfig());
        SigmaScheduler withKey = factory.apply(sdConfig().with("rescale_betas_zero_snr", true));
        plain.setTimesteps(10);
        withKey.setTimesteps(10);
        assertArrayEquals(plain.sigmas(), withKey.sigmas());
        assertEquals(SD_SIGMAS_10[0], withKey.initNoiseSigma());
    }
}
