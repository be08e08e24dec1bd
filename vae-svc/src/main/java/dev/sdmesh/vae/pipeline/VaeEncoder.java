package dev.sdmesh.vae.pipeline;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.random.TorchGenerator;

import java.util.Arrays;
import java.util.Map;

/**
 * The {@code vae_encoder} graph with diffusers' surroundings: {@code VaeImageProcessor.preprocess} ({@code
 * np.asarray / 255} in float32, then {@code 2x - 1}, NCHW), the encoder, and {@code scaling_factor * (z - shift)}.
 *
 * <p>Both exports are accepted: {@code latent_parameters} (current Optimum: mean and logvar, sampled here as diffusers
 * does) and the legacy {@code latent_sample} (see {@link LatentDistribution} on what that means for RNG parity).
 *
 * <p><b>RNG draw order</b> with one generator passed through the stages, as diffusers 0.25 draws:
 * <ul>
 *   <li>img2img: {@code encode(image).sample(g)} here, then unet-svc's {@code add_noise} draw, then the scheduler's.</li>
 *   <li>4-channel inpaint: {@code encode(image).sample(g)} here (draw 0); unet-svc's {@code add_noise} draw (draw 1);
 *   then the masked image's sample (draw 2), which diffusers computes although a 4-channel UNet never reads it. So
 *   the orchestrator encodes the image, sends the generator state to the UNet stage for the noise, and only after
 *   that calls {@code encode(InpaintMask.maskedImage(...)).sample(g)} (or {@link #skipSample} when it has no use for
 *   the masked latents), before the scheduler draws.</li>
 * </ul>
 */
public final class VaeEncoder {
    public static final String INPUT = "sample";
    public static final String PARAMETERS = "latent_parameters";
    public static final String LEGACY_SAMPLE = "latent_sample";

    private final OnnxModel model;
    private final VaeConfig config;
    private final String output;

    public VaeEncoder(OnnxModel model, VaeConfig config) {
        if (!model.hasInput(INPUT)) throw new IllegalArgumentException("not a VAE encoder (no input '" + INPUT + "'): " + model);
        if (model.hasOutput(PARAMETERS)) {
            output = PARAMETERS;
        } else if (model.hasOutput(LEGACY_SAMPLE)) {
            output = LEGACY_SAMPLE;
        } else {
            throw new IllegalArgumentException("VAE encoder has neither '" + PARAMETERS + "' nor '" + LEGACY_SAMPLE
                    + "' output: " + model);
        }
        this.model = model;
        this.config = config;
    }

    /** Whether the graph is a legacy export whose random draw happens inside the graph. */
    public boolean isLegacySampleExport() {
        return output.equals(LEGACY_SAMPLE);
    }

    /**
     * uint8 RGB images [batch, height, width, 3] to the encoder's input [batch, 3, height, width] in [-1, 1]:
     * {@code x / 255} then {@code 2 * x - 1}, both in float32 as numpy and torch compute them.
     */
    public static float[] preprocess(byte[] rgb, int batch, int height, int width) {
        int plane = height * width;
        if (rgb.length != batch * plane * 3) {
            throw new IllegalArgumentException(rgb.length + " bytes are not " + batch + " RGB images of " + width + "x" + height);
        }
        float[] out = new float[rgb.length];
        for (int b = 0; b < batch; b++) {
            for (int p = 0; p < plane; p++) {
                for (int c = 0; c < 3; c++) {
                    float x = (rgb[(b * plane + p) * 3 + c] & 0xff) / 255f;
                    out[(b * 3 + c) * plane + p] = 2f * x - 1f;
                }
            }
        }
        return out;
    }

    /** Runs the encoder on a preprocessed batch [b, 3, H, W] (H and W multiples of the scale factor). */
    public LatentDistribution encode(float[] image, long[] shape) {
        int scale = config.scaleFactor();
        if (shape.length != 4 || shape[0] <= 0 || shape[1] != 3 || shape[2] <= 0 || shape[3] <= 0
                || shape[2] % scale != 0 || shape[3] % scale != 0) {
            throw new IllegalArgumentException("image must be [batch, 3, H, W] with H and W multiples of " + scale
                    + ", got " + Arrays.toString(shape));
        }
        if (Arrays.stream(shape).reduce(1, Math::multiplyExact) != image.length) {
            throw new IllegalArgumentException(image.length + " values do not fill shape " + Arrays.toString(shape));
        }
        try (OnnxTensor input = model.floatInput(INPUT, image, shape);
             OrtSession.Result result = model.run(Map.of(INPUT, input), null)) {
            var value = result.get(output).orElseThrow();
            long[] outShape = OnnxModel.shape(value);
            float[] values = OnnxModel.floats(value);
            int channels = config.latentChannels() * (isLegacySampleExport() ? 1 : 2);
            if (outShape.length != 4 || outShape[0] != shape[0] || outShape[1] != channels
                    || outShape[2] != shape[2] / scale || outShape[3] != shape[3] / scale) {
                throw new IllegalStateException("VAE encoder output " + output + " has shape " + Arrays.toString(outShape)
                        + "; expected [" + shape[0] + ", " + channels + ", " + shape[2] / scale + ", " + shape[3] / scale + "]");
            }
            if (!VaeDecoder.allFinite(values)) {
                throw new IllegalStateException("VAE encoder produced NaN or infinite values (" + model.file()
                        + (model.isFloat16(INPUT) ? "; a float16 VAE may overflow, use a float32 one" : "") + ")");
            }
            return isLegacySampleExport()
                    ? LatentDistribution.fromBakedSample(values, outShape)
                    : LatentDistribution.fromParameters(values, outShape);
        } catch (OrtException e) {
            throw new IllegalStateException("VAE encode failed: " + e.getMessage(), e);
        }
    }

    /** {@code scaling_factor * (z - shift_factor)}: the latents the UNet works on. */
    public float[] scale(float[] z) {
        float[] out = new float[z.length];
        for (int i = 0; i < out.length; i++) out[i] = config.scalingFactor() * (z[i] - config.shiftFactor());
        return out;
    }

    /** Encodes and samples: diffusers' {@code init_latents} for img2img and {@code image_latents} for inpaint. */
    public float[] encodeLatents(float[] image, long[] shape, TorchGenerator generator) {
        return scale(encode(image, shape).sample(generator));
    }

    /**
     * Advances the generator past the sample diffusers draws for a {@code [batch, c, h, w]} latent without running the
     * encoder: for the 4-channel inpaint's masked-image sample, whose result nothing reads.
     */
    public static void skipSample(TorchGenerator generator, long[] latentShape) {
        generator.randn(Math.toIntExact(Arrays.stream(latentShape).reduce(1, Math::multiplyExact)));
    }
}
