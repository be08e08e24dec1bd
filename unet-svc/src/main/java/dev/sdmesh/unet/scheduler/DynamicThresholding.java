package dev.sdmesh.unet.scheduler;

import java.util.Arrays;

/**
 * diffusers' {@code _threshold_sample} (Imagen's dynamic thresholding): per image, s = the
 * {@code dynamic_thresholding_ratio} quantile of |x0|, clamped to [1, sample_max_value]; x0 is clamped to [-s, s]
 * and divided by s. The quantile follows {@code torch.quantile}'s linear interpolation in float32.
 */
final class DynamicThresholding {
    private DynamicThresholding() {
    }

    static float[] threshold(float[] sample, int batchSize, double ratio, double sampleMaxValue) {
        if (sample.length % batchSize != 0) {
            throw new IllegalArgumentException(sample.length + " values do not split into " + batchSize + " images");
        }
        int perImage = sample.length / batchSize;
        float[] out = new float[sample.length];
        for (int b = 0; b < batchSize; b++) {
            int from = b * perImage;
            float[] abs = new float[perImage];
            for (int i = 0; i < perImage; i++) abs[i] = Math.abs(sample[from + i]);
            float s = Math.min(Math.max(quantile(abs, (float) ratio), 1.0f), (float) sampleMaxValue);
            for (int i = from; i < from + perImage; i++) out[i] = Math.min(Math.max(sample[i], -s), s) / s;
        }
        return out;
    }

    /** torch.quantile(..., interpolation='linear'): rank q*(n-1), then torch.lerp between its neighbours. */
    private static float quantile(float[] values, float q) {
        float[] sorted = values.clone();
        Arrays.sort(sorted);
        float rank = q * (sorted.length - 1);
        int below = (int) Math.floor(rank);
        int above = (int) Math.ceil(rank);
        float weight = rank - below;
        float start = sorted[below];
        float end = sorted[above];
        return weight < 0.5f ? start + weight * (end - start) : end - (end - start) * (1.0f - weight);
    }
}
