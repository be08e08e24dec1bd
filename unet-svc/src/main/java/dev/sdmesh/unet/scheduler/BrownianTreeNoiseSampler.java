package dev.sdmesh.unet.scheduler;

import java.math.BigInteger;

/**
 * diffusers' {@code BrownianTreeNoiseSampler} (with its {@code BatchedBrownianTree} for one seed): one
 * {@link BrownianTree} over [sigma_min, sigma_max], queried for the normalised increment
 * {@code (W(sigma_next) - W(sigma)) / sqrt|sigma_next - sigma|} in float32.
 */
final class BrownianTreeNoiseSampler {
    private final BrownianTree tree;

    BrownianTreeNoiseSampler(int size, float sigmaMin, float sigmaMax, long seed) {
        this.tree = new BrownianTree(Math.min(sigmaMin, sigmaMax), Math.max(sigmaMin, sigmaMax), size,
                new BigInteger(Long.toUnsignedString(seed)));
    }

    float[] sample(float sigma, float sigmaNext) {
        // BatchedBrownianTree sorts the query and flips the sign back
        boolean ascending = sigma < sigmaNext;
        float[] w = ascending ? tree.increment(sigma, sigmaNext) : tree.increment(sigmaNext, sigma);
        float scale = (float) Math.sqrt(Math.abs(sigmaNext - sigma));
        float[] out = new float[w.length];
        for (int i = 0; i < out.length; i++) out[i] = (ascending ? w[i] : -w[i]) / scale;
        return out;
    }
}
