package dev.sdmesh.runtime.random;

import dev.sdmesh.proto.v1.RngState;

/**
 * A random generator bit-compatible with torch's CPU generator ({@code torch.Generator('cpu').manual_seed(seed)}):
 * {@code CPUGeneratorImpl} over {@link Mt19937}, with torch's two {@code randn} code paths for float32 tensors.
 * Not thread-safe; one instance follows one request's draw sequence, as diffusers' single generator does.
 */
public final class TorchGenerator {
    /** torch's {@code normal_kernel} takes the vectorised {@code normal_fill} path from this many elements on. */
    private static final int NORMAL_FILL_MIN = 16;
    private static final float FLOAT_DIVISOR = 1.0f / (1 << 24);
    private static final double DOUBLE_DIVISOR = 1.0 / (1L << 53);
    /** {@code _mm256_set1_ps(2.0f * c10::pi<double>)}: the product is a double rounded once to float. */
    private static final float TWO_PI_FLOAT = (float) (2.0 * Math.PI);

    private final long seed;
    private final Mt19937 engine;
    private boolean hasNextDoubleNormal;
    private double nextDoubleNormal;
    // torch's float cache is only filled by CUDA-style float normal sampling; it is carried so a state round-trips.
    private boolean hasNextFloatNormal;
    private float nextFloatNormal;

    public TorchGenerator(long seed) {
        this(seed, new Mt19937(seed));
    }

    private TorchGenerator(long seed, Mt19937 engine) {
        this.seed = seed;
        this.engine = engine;
    }

    /** The seed (unsigned 64-bit, held in a long). */
    public long seed() {
        return seed;
    }

    /** {@code torch.randn(n)} in float32; the shape does not matter to torch's draw, only the element count. */
    public float[] randn(int n) {
        float[] out = new float[n];
        if (n >= NORMAL_FILL_MIN) {
            normalFill(out);
        } else {
            for (int i = 0; i < n; i++) out[i] = (float) normalDouble();
        }
        return out;
    }

    /** {@code torch.rand(n)} in float32. */
    public float[] rand(int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = uniformFloat();
        return out;
    }

    /** The full state, to hand to another stage. */
    public RngState toProto() {
        RngState.Builder state = RngState.newBuilder()
                .setSeed(seed)
                .setMtIndex(engine.index())
                .setHasNextDoubleNormal(hasNextDoubleNormal)
                .setNextDoubleNormal(nextDoubleNormal)
                .setHasNextFloatNormal(hasNextFloatNormal)
                .setNextFloatNormal(nextFloatNormal);
        for (int word : engine.words()) state.addMt(word);
        return state.build();
    }

    /** Restores a generator from {@link #toProto()}. */
    public static TorchGenerator fromProto(RngState state) {
        int[] words = new int[state.getMtCount()];
        for (int i = 0; i < words.length; i++) words[i] = state.getMt(i);
        TorchGenerator generator = new TorchGenerator(state.getSeed(), new Mt19937(words, state.getMtIndex()));
        generator.hasNextDoubleNormal = state.getHasNextDoubleNormal();
        generator.nextDoubleNormal = state.getNextDoubleNormal();
        generator.hasNextFloatNormal = state.getHasNextFloatNormal();
        generator.nextFloatNormal = state.getNextFloatNormal();
        return generator;
    }

    /** {@code uniform_real_distribution<float>(0, 1)}: 24 random bits of one 32-bit draw. */
    private float uniformFloat() {
        return (engine.nextInt() & 0xffffff) * FLOAT_DIVISOR;
    }

    /** {@code uniform_real_distribution<double>(0, 1)}: 53 bits of {@code random64()} = (first draw << 32) | second. */
    private double uniformDouble() {
        long hi = engine.nextInt() & 0xffffffffL;
        long lo = engine.nextInt() & 0xffffffffL;
        return (((hi << 32) | lo) & ((1L << 53) - 1)) * DOUBLE_DIVISOR;
    }

    /** {@code normal_distribution<double>(0, 1)}: Box–Muller that caches the sine half for the next call. */
    private double normalDouble() {
        if (hasNextDoubleNormal) {
            hasNextDoubleNormal = false;
            return nextDoubleNormal;
        }
        double u1 = uniformDouble();
        double u2 = uniformDouble();
        double r = Math.sqrt(-2.0 * Math.log(1.0 - u2));
        double theta = 2.0 * Math.PI * u1;
        hasNextDoubleNormal = true;
        nextDoubleNormal = r * Math.sin(theta);
        return r * Math.cos(theta);
    }

    /**
     * torch's {@code normal_fill} (AVX2 build): uniforms for every element first, then Box–Muller over each block of
     * 16 (pairs j, j+8); a ragged end gets 16 fresh uniforms written over the last 16 elements and transformed again.
     */
    private void normalFill(float[] data) {
        for (int i = 0; i < data.length; i++) data[i] = uniformFloat();
        float[] sinCos = new float[2];
        for (int i = 0; i + 16 <= data.length; i += 16) normalFill16(data, i, sinCos);
        if (data.length % 16 != 0) {
            int tail = data.length - 16;
            for (int i = tail; i < data.length; i++) data[i] = uniformFloat();
            normalFill16(data, tail, sinCos);
        }
    }

    private static void normalFill16(float[] data, int offset, float[] sinCos) {
        for (int j = offset; j < offset + 8; j++) {
            float u1 = 1.0f - data[j]; // [0, 1) -> (0, 1] for the log
            float u2 = data[j + 8];
            float radius = (float) Math.sqrt(-2.0f * AvxMathFun.log(u1));
            AvxMathFun.sincos(TWO_PI_FLOAT * u2, sinCos);
            // fmadd(n, std = 1, mean = 0): exact except that it turns -0 into +0.
            data[j] = radius * sinCos[1] + 0.0f;
            data[j + 8] = radius * sinCos[0] + 0.0f;
        }
    }
}
