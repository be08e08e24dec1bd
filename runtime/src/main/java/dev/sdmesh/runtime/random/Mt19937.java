package dev.sdmesh.runtime.random;

import java.util.Arrays;

/**
 * The 32-bit Mersenne Twister as torch's {@code at::mt19937} (ATen/core/MT19937RNGEngine.h) runs it. torch keeps a
 * {@code left_}/{@code next_} pair; here {@link #index()} is the position of the next word to temper, and 624 means
 * "twist before the next draw", which is the state right after seeding.
 */
final class Mt19937 {
    static final int N = 624;
    private static final int M = 397;
    private static final int MATRIX_A = 0x9908b0df;
    private static final int UPPER_MASK = 0x80000000;
    private static final int LOWER_MASK = 0x7fffffff;

    private final int[] state;
    private int index;

    /** torch's {@code init_with_uint32}: only the low 32 bits of the 64-bit seed reach the state. */
    Mt19937(long seed) {
        state = new int[N];
        state[0] = (int) seed;
        for (int j = 1; j < N; j++) {
            int prev = state[j - 1];
            state[j] = 1812433253 * (prev ^ (prev >>> 30)) + j;
        }
        index = N;
    }

    Mt19937(int[] words, int index) {
        if (words.length != N) throw new IllegalArgumentException("mt19937 state needs " + N + " words, got " + words.length);
        if (index < 0 || index > N) throw new IllegalArgumentException("mt19937 index " + index + " is outside 0.." + N);
        this.state = words.clone();
        this.index = index;
    }

    /** The next tempered 32-bit output, as an unsigned value in the low bits of an int. */
    int nextInt() {
        if (index >= N) twist();
        int y = state[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y;
    }

    private void twist() {
        for (int i = 0; i < N; i++) {
            int mixed = (state[i] & UPPER_MASK) | (state[(i + 1) % N] & LOWER_MASK);
            int twisted = (mixed >>> 1) ^ ((mixed & 1) != 0 ? MATRIX_A : 0);
            state[i] = state[(i + M) % N] ^ twisted;
        }
        index = 0;
    }

    int[] words() {
        return Arrays.copyOf(state, N);
    }

    int index() {
        return index;
    }
}
