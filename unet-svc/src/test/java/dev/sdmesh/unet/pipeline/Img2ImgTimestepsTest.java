package dev.sdmesh.unet.pipeline;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** img2img's start step as diffusers' get_timesteps computes it in Python doubles. */
class Img2ImgTimestepsTest {

    /** Expected values are Python's {@code min(int(steps * strength), steps)}. */
    @ParameterizedTest
    @CsvSource({"10, 0.7, 7", "10, 0.9, 9", "20, 0.35, 7", "20, 0.3, 6", "3, 0.1, 0", "50, 0.75, 37", "20, 1.0, 20",
            "25, 0.6, 15", "150, 0.01, 1", "7, 0.29, 2"})
    void initTimestepTruncatesLikePython(int steps, float strength, int expected) {
        assertEquals(expected, DenoiseRun.initTimestep(steps, strength));
    }

    @ParameterizedTest
    @CsvSource({"1, 3", "2, 6"})
    void timestepsStartAtTStartTimesTheOrder(int order, int expectedFirstIndex) {
        double[] all = new double[10 * order];
        for (int i = 0; i < all.length; i++) all[i] = 1000 - i;
        double[] used = DenoiseRun.img2imgTimesteps(all, 10, 0.7f, order);
        assertEquals(all.length - expectedFirstIndex, used.length);
        assertArrayEquals(java.util.Arrays.copyOfRange(all, expectedFirstIndex, all.length), used);
    }
}
