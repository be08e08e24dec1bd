package dev.sdmesh.vae.image;

/**
 * Pillow's {@code Image.resize(size, Image.LANCZOS, box)} for 8-bit images, the resampling A1111 uses: separable
 * Lanczos-3 (support widened by the reduction factor when shrinking), weights normalised per output pixel and rounded
 * to 22-bit fixed point, a horizontal pass to 8 bits and then a vertical one (Pillow's {@code Resample.c}), so results
 * match Pillow's byte for byte up to the last bit of {@code sin} in its weights.
 */
final class LanczosResampler {
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 3.0;

    private LanczosResampler() {
    }

    static Pixels resize(Pixels src, int width, int height) {
        return resize(src, width, height, 0, 0, src.width(), src.height());
    }

    /** Resizes the region {@code box = (x0, y0, x1, y1)} of {@code src} (which may be empty along an axis) to width x height. */
    static Pixels resize(Pixels src, int width, int height, float x0, float y0, float x1, float y1) {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("target size " + width + "x" + height);
        boolean horizontal = width != src.width() || x0 != 0 || x1 != width;
        boolean vertical = height != src.height() || y0 != 0 || y1 != height;
        Pixels out = src;
        if (horizontal) out = pass(out, Coefficients.of(src.width(), x0, x1, width), true);
        if (vertical) out = pass(out, Coefficients.of(src.height(), y0, y1, height), false);
        return out;
    }

    /** Per output index: the first source index, how many follow, and their fixed-point weights. */
    private record Coefficients(int[] first, int[] count, int[][] weights) {
        static Coefficients of(int inSize, float in0, float in1, int outSize) {
            double scale = (double) (in1 - in0) / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = SUPPORT * filterScale;
            double ss = 1.0 / filterScale;
            int[] first = new int[outSize], count = new int[outSize];
            int[][] weights = new int[outSize][];
            for (int xx = 0; xx < outSize; xx++) {
                double center = in0 + (xx + 0.5) * scale;
                // Truncating casts, as Pillow's C code rounds these bounds.
                int xmin = Math.max((int) (center - support + 0.5), 0);
                int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
                double[] k = new double[Math.max(xmax, 0)];
                double sum = 0;
                for (int x = 0; x < k.length; x++) {
                    k[x] = lanczos((x + xmin - center + 0.5) * ss);
                    sum += k[x];
                }
                int[] fixed = new int[k.length];
                for (int x = 0; x < k.length; x++) {
                    double w = sum != 0.0 ? k[x] / sum : k[x];
                    fixed[x] = (int) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
                }
                first[xx] = xmin;
                count[xx] = k.length;
                weights[xx] = fixed;
            }
            return new Coefficients(first, count, weights);
        }
    }

    private static double sinc(double x) {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.sin(x) / x;
    }

    private static double lanczos(double x) {
        return -SUPPORT <= x && x < SUPPORT ? sinc(x) * sinc(x / SUPPORT) : 0.0;
    }

    private static Pixels pass(Pixels in, Coefficients k, boolean horizontal) {
        int channels = in.channels();
        int outWidth = horizontal ? k.first.length : in.width();
        int outHeight = horizontal ? in.height() : k.first.length;
        byte[] src = in.data(), dst = new byte[outWidth * outHeight * channels];
        for (int y = 0; y < outHeight; y++) {
            for (int x = 0; x < outWidth; x++) {
                int o = horizontal ? x : y;
                for (int c = 0; c < channels; c++) {
                    int acc = 1 << (PRECISION_BITS - 1);
                    for (int t = 0; t < k.count[o]; t++) {
                        int s = k.first[o] + t;
                        int index = horizontal ? (y * in.width() + s) * channels + c : (s * in.width() + x) * channels + c;
                        acc += (src[index] & 0xff) * k.weights[o][t];
                    }
                    dst[(y * outWidth + x) * channels + c] = (byte) Math.min(Math.max(acc >> PRECISION_BITS, 0), 255);
                }
            }
        }
        return new Pixels(outWidth, outHeight, channels, dst);
    }
}
