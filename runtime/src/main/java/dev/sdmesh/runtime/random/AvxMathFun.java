package dev.sdmesh.runtime.random;

/**
 * One lane of the Cephes-derived float approximations in torch's {@code ATen/native/cpu/avx_mathfun.h}
 * ({@code log256_ps}, {@code sincos256_ps}), which torch's vectorised {@code normal_fill} uses instead of libm.
 * torch compiles them with GCC's default floating-point contraction, so each multiply that feeds an add becomes one
 * fused multiply-add; {@link Math#fma(float, float, float)} reproduces that rounding.
 */
final class AvxMathFun {
    private static final float MIN_NORM_POS = Float.intBitsToFloat(0x00800000);
    private static final float SQRTHF = 0.707106781186547524f;
    private static final float[] LOG_P = {
            7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f, 1.4249322787E-1f,
            -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f};
    private static final float LOG_Q1 = -2.12194440e-4f;
    private static final float LOG_Q2 = 0.693359375f;

    private static final float FOPI = 1.27323954473516f;
    private static final float MINUS_DP1 = -0.78515625f;
    private static final float MINUS_DP2 = -2.4187564849853515625e-4f;
    private static final float MINUS_DP3 = -3.77489497744594108e-8f;
    private static final float SINCOF_P0 = -1.9515295891E-4f;
    private static final float SINCOF_P1 = 8.3321608736E-3f;
    private static final float SINCOF_P2 = -1.6666654611E-1f;
    private static final float COSCOF_P0 = 2.443315711809948E-005f;
    private static final float COSCOF_P1 = -1.388731625493765E-003f;
    private static final float COSCOF_P2 = 4.166664568298827E-002f;

    private AvxMathFun() {
    }

    /** {@code log256_ps} for x in (0, 1]; the callers never pass 0 or negatives. */
    static float log(float x) {
        x = Math.max(x, MIN_NORM_POS);
        int bits = Float.floatToRawIntBits(x);
        float e = (float) ((bits >>> 23) - 0x7f) + 1.0f;
        // Keep the mantissa with exponent of 0.5, so x lies in [0.5, 1).
        x = Float.intBitsToFloat((bits & ~0x7f800000) | Float.floatToRawIntBits(0.5f));
        if (x < SQRTHF) {
            e -= 1.0f;
            x = (x - 1.0f) + x;
        } else {
            x = x - 1.0f;
        }
        float z = x * x;
        float y = LOG_P[0];
        for (int i = 1; i < LOG_P.length; i++) y = Math.fma(y, x, LOG_P[i]);
        y = y * x;
        y = Math.fma(y, z, e * LOG_Q1);
        y = Math.fma(z, -0.5f, y);
        x = x + y;
        return Math.fma(e, LOG_Q2, x);
    }

    /** {@code sincos256_ps}: returns {sin(x), cos(x)}. */
    static void sincos(float x, float[] sinCos) {
        int signSin = Float.floatToRawIntBits(x) & 0x80000000;
        x = Math.abs(x);
        // Octant j = (trunc(x * 4/pi) + 1) & ~1 picks the polynomial and the signs.
        int j = ((int) (x * FOPI) + 1) & ~1;
        float y = j;
        signSin ^= (j & 4) << 29;
        int signCos = (~(j - 2) & 4) << 29;
        boolean sinPolyForSin = (j & 2) == 0;

        // Extended precision modular arithmetic: x - j * pi/4 in three parts.
        x = Math.fma(y, MINUS_DP1, x);
        x = Math.fma(y, MINUS_DP2, x);
        x = Math.fma(y, MINUS_DP3, x);

        float z = x * x;
        float cosPoly = Math.fma(COSCOF_P0, z, COSCOF_P1);
        cosPoly = Math.fma(cosPoly, z, COSCOF_P2);
        cosPoly = cosPoly * z;
        cosPoly = Math.fma(cosPoly, z, -(z * 0.5f));
        cosPoly = cosPoly + 1.0f;

        float sinPoly = Math.fma(SINCOF_P0, z, SINCOF_P1);
        sinPoly = Math.fma(sinPoly, z, SINCOF_P2);
        sinPoly = sinPoly * z;
        sinPoly = Math.fma(sinPoly, x, x);

        float sin = sinPolyForSin ? sinPoly : cosPoly;
        float cos = sinPolyForSin ? cosPoly : sinPoly;
        sinCos[0] = Float.intBitsToFloat(Float.floatToRawIntBits(sin) ^ signSin);
        sinCos[1] = Float.intBitsToFloat(Float.floatToRawIntBits(cos) ^ signCos);
    }
}
