package dev.sdmesh.unet.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Expected values for the DDIM / DDPM / PNDM / LCM step tests, worked out in double precision straight from the
 * diffusers formulas (so they are independent of the float32 code under test): a small linear schedule and a
 * tolerance that absorbs float32 rounding but not a wrong index, coefficient or branch.
 */
final class AlphasCumprodReference {
    static final double TOLERANCE = 2e-5;

    private AlphasCumprodReference() {
    }

    /** ᾱ_t = Π_{i ≤ t} (1 - β_i) with β linearly spaced from {@code betaStart} to {@code betaEnd}. */
    static double[] linearAlphasCumprod(double betaStart, double betaEnd, int n) {
        double[] alphasCumprod = new double[n];
        double product = 1.0;
        for (int i = 0; i < n; i++) {
            product *= 1.0 - (betaStart + i * (betaEnd - betaStart) / (n - 1));
            alphasCumprod[i] = product;
        }
        return alphasCumprod;
    }

    static void assertClose(double[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOLERANCE * Math.max(1.0, Math.abs(expected[i])), what + "[" + i + "]");
        }
    }

    static double[] doubles(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < out.length; i++) out[i] = values[i];
        return out;
    }
}
