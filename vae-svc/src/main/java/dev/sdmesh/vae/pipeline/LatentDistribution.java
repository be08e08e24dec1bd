package dev.sdmesh.vae.pipeline;

import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.Arrays;

/**
 * What {@code vae.encode(x).latent_dist} is in diffusers: {@code DiagonalGaussianDistribution(parameters)} with
 * {@code mean, logvar = chunk(parameters, 2, dim=1)}, {@code logvar.clamp(-30, 20)} and {@code std = exp(0.5 * logvar)}.
 *
 * <p><b>RNG.</b> {@link #sample(TorchGenerator)} makes exactly diffusers' one draw, {@code randn(mean.shape, generator)},
 * so a caller that hands the same generator (or its {@link TorchGenerator#toProto() state}) through the stages
 * reproduces diffusers' draw order; see {@link VaeEncoder} for the img2img and inpaint orders.
 *
 * <p>A legacy export ({@code latent_sample}, Optimum ≤ 1.22) made its random draw inside the graph; that sample cannot
 * match diffusers. {@link #sample(TorchGenerator)} then still consumes the same number of values from the generator,
 * so every later draw (the add_noise noise, scheduler noise) stays where diffusers has it.
 */
public final class LatentDistribution {
    private final long[] shape;
    private final float[] mean;
    private final float[] std;
    private final float[] bakedSample;

    private LatentDistribution(long[] shape, float[] mean, float[] std, float[] bakedSample) {
        this.shape = shape;
        this.mean = mean;
        this.std = std;
        this.bakedSample = bakedSample;
    }

    /** From the raw {@code latent_parameters} [b, 2c, h, w] (mean then logvar on channels, logvar not clamped). */
    public static LatentDistribution fromParameters(float[] parameters, long[] parameterShape) {
        if (parameterShape.length != 4 || parameterShape[1] % 2 != 0) {
            throw new IllegalArgumentException("latent_parameters must be [b, 2c, h, w], got " + Arrays.toString(parameterShape));
        }
        int batch = (int) parameterShape[0], channels = (int) parameterShape[1] / 2;
        int plane = channels * (int) parameterShape[2] * (int) parameterShape[3];
        float[] mean = new float[batch * plane];
        float[] std = new float[batch * plane];
        for (int b = 0; b < batch; b++) {
            int from = b * 2 * plane, to = b * plane;
            System.arraycopy(parameters, from, mean, to, plane);
            for (int i = 0; i < plane; i++) {
                float logvar = Math.min(Math.max(parameters[from + plane + i], -30f), 20f);
                std[to + i] = (float) Math.exp(0.5f * logvar);
            }
        }
        return new LatentDistribution(new long[]{batch, channels, parameterShape[2], parameterShape[3]}, mean, std, null);
    }

    /** From a legacy {@code latent_sample} output: a sample the graph already drew. */
    public static LatentDistribution fromBakedSample(float[] sample, long[] shape) {
        return new LatentDistribution(shape.clone(), sample.clone(), null, sample.clone());
    }

    /** [b, c, h, w] of the latents. */
    public long[] shape() {
        return shape.clone();
    }

    public int size() {
        return mean.length;
    }

    /** Whether this came from a legacy export whose sample was drawn inside the graph. */
    public boolean isBaked() {
        return bakedSample != null;
    }

    /** {@code latent_dist.mode()}: the mean (for a legacy export, its baked sample). */
    public float[] mode() {
        return mean.clone();
    }

    /** {@code latent_dist.std}: {@code exp(0.5 * clamp(logvar, -30, 20))}. */
    public float[] std() {
        if (bakedSample != null) throw new IllegalStateException("a legacy latent_sample export has no mean/std");
        return std.clone();
    }

    /** {@code latent_dist.sample(generator)}: draws {@code randn(mean.shape)} and returns {@code mean + std * eps}. */
    public float[] sample(TorchGenerator generator) {
        float[] eps = generator.randn(mean.length);
        return bakedSample != null ? bakedSample.clone() : sample(eps);
    }

    /** {@code mean + std * eps} for noise drawn elsewhere (e.g. a recorded {@code randn_draw}). */
    public float[] sample(float[] eps) {
        if (eps.length != mean.length) {
            throw new IllegalArgumentException(eps.length + " noise values for " + mean.length + " latents");
        }
        if (bakedSample != null) throw new IllegalStateException("a legacy latent_sample export has no mean/std");
        float[] z = new float[mean.length];
        for (int i = 0; i < z.length; i++) z[i] = mean[i] + std[i] * eps[i];
        return z;
    }
}
