package dev.sdmesh.unet.scheduler;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * numpy's {@code np.random.SeedSequence} (the hash-based entropy pool of O'Neill's seed_seq), which torchsde uses to
 * derive the seed of every Brownian-tree node: {@code SeedSequence(entropy, spawn_key=..., pool_size=...)} and
 * {@code generate_state(n)} as uint32 words.
 */
final class SeedSequence {
    private static final int INIT_A = 0x43b0d7e5;
    private static final int MULT_A = 0x931e8875;
    private static final int INIT_B = 0x8b51f9dd;
    private static final int MULT_B = 0x58f38ded;
    private static final int MIX_MULT_L = 0xca01f9dd;
    private static final int MIX_MULT_R = 0x4973f715;
    private static final int XSHIFT = 16;

    private final int[] pool;

    /**
     * @param entropy  the non-negative seed, split into little-endian uint32 words as numpy does
     * @param spawnKey the spawn key words (each a non-negative int of at most 32 bits); may be empty
     */
    SeedSequence(BigInteger entropy, long[] spawnKey, int poolSize) {
        List<Integer> words = uint32Words(entropy);
        if (spawnKey.length > 0) {
            // numpy >= 1.19 pads the run entropy to the pool size when a spawn key follows
            while (words.size() < poolSize) words.add(0);
            for (long key : spawnKey) words.addAll(uint32Words(BigInteger.valueOf(key)));
        }
        this.pool = new int[poolSize];
        mixEntropy(words);
    }

    private static List<Integer> uint32Words(BigInteger n) {
        if (n.signum() < 0) throw new IllegalArgumentException("SeedSequence entropy must be non-negative: " + n);
        List<Integer> words = new ArrayList<>();
        if (n.signum() == 0) words.add(0);
        BigInteger mask = BigInteger.valueOf(0xFFFFFFFFL);
        while (n.signum() > 0) {
            words.add(n.and(mask).intValue());
            n = n.shiftRight(32);
        }
        return words;
    }

    /** The hash state threaded through {@link #hashmix}: numpy mutates its multiplier as it goes. */
    private int hashConst;

    private int hashmix(int value) {
        value ^= hashConst;
        hashConst *= MULT_A;
        value *= hashConst;
        value ^= value >>> XSHIFT;
        return value;
    }

    private static int mix(int x, int y) {
        int result = MIX_MULT_L * x - MIX_MULT_R * y;
        result ^= result >>> XSHIFT;
        return result;
    }

    private void mixEntropy(List<Integer> entropy) {
        hashConst = INIT_A;
        for (int i = 0; i < pool.length; i++) pool[i] = hashmix(i < entropy.size() ? entropy.get(i) : 0);
        for (int src = 0; src < pool.length; src++) {
            for (int dst = 0; dst < pool.length; dst++) {
                if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
            }
        }
        for (int src = pool.length; src < entropy.size(); src++) {
            for (int dst = 0; dst < pool.length; dst++) pool[dst] = mix(pool[dst], hashmix(entropy.get(src)));
        }
    }

    /** {@code generate_state(n)}: n uint32 words, returned as non-negative longs. */
    long[] generateState(int n) {
        int hash = INIT_B;
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            int value = pool[i % pool.length];
            value ^= hash;
            hash *= MULT_B;
            value *= hash;
            value ^= value >>> XSHIFT;
            out[i] = value & 0xFFFFFFFFL;
        }
        return out;
    }
}
