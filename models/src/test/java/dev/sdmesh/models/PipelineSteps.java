package dev.sdmesh.models;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.runtime.onnx.OnnxModel;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The steps of a Stable Diffusion pipeline, driven directly on ONNX Runtime sessions of generated models: the tests
 * that run generated graphs share them. Batches are [unconditional; conditional], as diffusers builds them for
 * classifier-free guidance.
 */
final class PipelineSteps {
    static final int CONTEXT_LENGTH = 77;
    static final float GUIDANCE_SCALE = 7.5f;
    /** Latent channels of every SD VAE; the encoder also outputs as many log-variance channels. */
    static final int LATENT_CHANNELS = 4;
    /** Pixels per latent cell: the VAE halves the resolution in all but its last block (8 for SD). */
    static final int VAE_SCALE = 8;

    private PipelineSteps() {
    }

    record Input(float[] values, long[] shape) {
    }

    /** Runs {@code model} and returns {@code output}, after checking its shape. */
    static float[] run(OnnxModel model, Map<String, Input> inputs, String output, long[] expectedShape)
            throws OrtException {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            for (Map.Entry<String, Input> e : inputs.entrySet()) {
                feeds.put(e.getKey(), model.floatInput(e.getKey(), e.getValue().values(), e.getValue().shape()));
            }
            try (OrtSession.Result r = model.run(feeds, null)) {
                assertArrayEquals(expectedShape, OnnxModel.shape(r.get(output).get()), output);
                return floats(r, output);
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    static float[] floats(OrtSession.Result r, String name) {
        return OnnxModel.floats(r.get(name).orElseThrow(() -> new AssertionError("no output " + name)));
    }

    /** Row 0: the empty prompt; row 1: five word tokens. Both are padded with {@code pad} after end-of-text. */
    static long[] promptIds(long bos, long eos, long pad) {
        long[] ids = new long[2 * CONTEXT_LENGTH];
        Arrays.fill(ids, pad);
        ids[0] = bos;
        ids[1] = eos;
        ids[CONTEXT_LENGTH] = bos;
        for (int i = 1; i <= 5; i++) {
            ids[CONTEXT_LENGTH + i] = 512 + 7 * i;
        }
        ids[CONTEXT_LENGTH + 6] = eos;
        return ids;
    }

    /** {@code last_hidden_state} for the two prompts of {@code ids}, [2, 77, width]. */
    static float[] textEmbeddings(OnnxModel text, long[] ids, int width) throws OrtException {
        long[] shape = {2, CONTEXT_LENGTH};
        try (OnnxTensor input = text.longInput("input_ids", ids, shape);
             OrtSession.Result r = text.run(Map.of("input_ids", input), null)) {
            assertArrayEquals(new long[]{2, CONTEXT_LENGTH, width}, OnnxModel.shape(r.get("last_hidden_state").get()));
            return floats(r, "last_hidden_state");
        }
    }

    /** One UNet call on a batch of two {@code sample}s with {@code channels} channels; returns out_sample. */
    static float[] unet(OnnxModel unet, float[] sample, int channels, int latentSize, float t, float[] context,
                        int contextDim) throws OrtException {
        Map<String, Input> feeds = new HashMap<>();
        feeds.put("sample", new Input(sample, new long[]{2, channels, latentSize, latentSize}));
        feeds.put("timestep", new Input(new float[]{t}, new long[0]));
        feeds.put("encoder_hidden_states", new Input(context, new long[]{2, CONTEXT_LENGTH, contextDim}));
        return run(unet, feeds, "out_sample", new long[]{2, LATENT_CHANNELS, latentSize, latentSize});
    }

    /**
     * {@code steps} DDIM steps with classifier-free guidance from {@code latents} (one sample). {@code conditioning}
     * holds the channels an inpainting UNet takes after the latents (mask, then masked-image latents), or nothing.
     */
    static float[] denoise(OnnxModel unet, float[] latents, float[] conditioning, int latentSize, float[] context,
                           int contextDim, int steps, String predictionType) throws OrtException {
        int cells = latentSize * latentSize;
        int channels = (latents.length + conditioning.length) / cells;
        int stride = 1000 / steps;
        float[] x = latents;
        for (int i = 0; i < steps; i++) {
            int t = firstTimestep(steps) - i * stride;
            float[] out = unet(unet, twice(concat(x, conditioning)), channels, latentSize, t, context, contextDim);
            x = Ddim.step(Ddim.epsilon(guide(out), x, t, predictionType), x, t, t - stride);
        }
        return x;
    }

    /** The first timestep of a {@code steps}-step "leading" schedule with steps_offset 1, as SD's configs set. */
    static int firstTimestep(int steps) {
        return (steps - 1) * (1000 / steps) + 1;
    }

    /** noise_pred_uncond + scale * (noise_pred_text - noise_pred_uncond). */
    static float[] guide(float[] batch) {
        int n = batch.length / 2;
        float[] guided = new float[n];
        for (int i = 0; i < n; i++) {
            guided[i] = batch[i] + GUIDANCE_SCALE * (batch[n + i] - batch[i]);
        }
        return guided;
    }

    /** The VAE decoder's image, [1, 3, 8 * latentSize, 8 * latentSize], for latents in UNet scale. */
    static float[] decode(OnnxModel decoder, float[] latents, int latentSize, double scalingFactor)
            throws OrtException {
        float[] scaled = latents.clone();
        for (int i = 0; i < scaled.length; i++) {
            scaled[i] /= (float) scalingFactor;
        }
        int pixels = latentSize * VAE_SCALE;
        return run(decoder, Map.of("latent_sample", new Input(scaled, new long[]{1, LATENT_CHANNELS, latentSize,
                latentSize})), "sample", new long[]{1, 3, pixels, pixels});
    }

    /** The VAE encoder's mean latents in UNet scale (mean times scaling_factor) for a [1, 3, size, size] image. */
    static float[] encode(OnnxModel encoder, float[] image, int imageSize, double scalingFactor) throws OrtException {
        int latentSize = imageSize / VAE_SCALE;
        float[] parameters = run(encoder, Map.of("sample", new Input(image, new long[]{1, 3, imageSize, imageSize})),
                "latent_parameters", new long[]{1, 2 * LATENT_CHANNELS, latentSize, latentSize});
        assertFinite(parameters, "latent_parameters");
        float[] mean = Arrays.copyOf(parameters, LATENT_CHANNELS * latentSize * latentSize);
        for (int i = 0; i < mean.length; i++) {
            mean[i] *= (float) scalingFactor;
        }
        return mean;
    }

    static float[] concat(float[] a, float[] b) {
        float[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    /** The same sample for the unconditional and the conditional half of a guidance batch. */
    static float[] twice(float[] sample) {
        return concat(sample, sample);
    }

    static float[] gaussian(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return v;
    }

    /** Finite everywhere and not all zeros (a graph that lost its input would still be finite). */
    static void assertFinite(float[] v, String what) {
        boolean nonZero = false;
        for (int i = 0; i < v.length; i++) {
            assertTrue(Float.isFinite(v[i]), what + "[" + i + "] = " + v[i]);
            nonZero |= v[i] != 0;
        }
        assertTrue(nonZero, what + " is all zeros");
    }
}
