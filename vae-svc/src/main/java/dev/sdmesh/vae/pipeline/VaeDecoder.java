package dev.sdmesh.vae.pipeline;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.runtime.onnx.OnnxModel;

import java.util.Arrays;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The {@code vae_decoder} graph with diffusers' surroundings: {@code vae.decode(latents / scaling_factor
 * [+ shift_factor])} followed by {@code VaeImageProcessor.postprocess} to uint8 RGB.
 *
 * <p>Input is built in the graph's declared element type, so float16 exports work. A float16 SD VAE is known to
 * overflow (diffusers marks it {@code force_upcast}); when a float16 decode yields NaN/Inf the decode is repeated, with
 * float32 latents, on the float32 session the caller's fallback supplies (a float32 export, or the float16 graph's
 * {@link Float32Copy}), and without a fallback it fails with a message that says so.
 *
 * <p>Thread-safe: ONNX Runtime sessions may run concurrently, and the fallback is opened once, on first need.
 */
public final class VaeDecoder {
    public static final String INPUT = "latent_sample";
    public static final String OUTPUT = "sample";

    private final OnnxModel model;
    private final VaeConfig config;
    private final Tiling tiling;
    private final Supplier<OnnxModel> float32Fallback;
    private OnnxModel fallbackModel;

    /**
     * @param model           the {@code vae_decoder} graph
     * @param config          the part's config.json values
     * @param tiling          when and how to decode in tiles; null = never
     * @param float32Fallback opens a float32 decoder if a float16 one overflows; null = report the overflow
     */
    public VaeDecoder(OnnxModel model, VaeConfig config, Tiling tiling, Supplier<OnnxModel> float32Fallback) {
        if (!model.hasInput(INPUT) || !model.hasOutput(OUTPUT)) {
            throw new IllegalArgumentException("not a VAE decoder (needs input '" + INPUT + "' and output '" + OUTPUT
                    + "'): " + model);
        }
        if (tiling != null) tiling.checkScale(config.scaleFactor());
        this.model = model;
        this.config = config;
        this.tiling = tiling;
        this.float32Fallback = float32Fallback;
    }

    /**
     * Decodes latents as the UNet loop leaves them ({@code final_latents}).
     *
     * @param shape     [batch, latent_channels, h, w]
     * @param keepFloat also return the raw decoder output
     */
    public DecodedImages decode(float[] latents, long[] shape, boolean keepFloat) {
        return decodeLatentSample(unscale(latents, config), shape, keepFloat);
    }

    /** Decodes what diffusers passes to {@code vae.decode}: latents already divided by the scaling factor. */
    public DecodedImages decodeLatentSample(float[] latentSample, long[] shape, boolean keepFloat) {
        checkLatents(latentSample, shape);
        int batch = (int) shape[0], height = (int) shape[2], width = (int) shape[3];
        int pixelsHigh = height * config.scaleFactor(), pixelsWide = width * config.scaleFactor();
        float[] image = tiling != null && tiling.applies(pixelsHigh, pixelsWide)
                ? tiledDecode(latentSample, batch, height, width)
                : run(latentSample, shape, pixelsHigh, pixelsWide).data;
        return new DecodedImages(batch, pixelsHigh, pixelsWide, keepFloat ? image : null,
                postprocess(image, batch, pixelsHigh, pixelsWide));
    }

    /** {@code latents / scaling_factor + shift_factor}, in float32 as torch computes it. */
    public static float[] unscale(float[] latents, VaeConfig config) {
        float[] out = new float[latents.length];
        for (int i = 0; i < out.length; i++) out[i] = latents[i] / config.scalingFactor() + config.shiftFactor();
        return out;
    }

    /**
     * {@code VaeImageProcessor.postprocess(output_type="pil")}: {@code (x / 2 + 0.5).clamp(0, 1)} in float32, then numpy's
     * {@code (x * 255).round()} (half to even) to uint8, NCHW to NHWC.
     */
    public static byte[] postprocess(float[] image, int batch, int height, int width) {
        int plane = height * width;
        if (image.length != batch * 3 * plane) {
            throw new IllegalArgumentException(image.length + " values are not " + batch + "x3x" + height + "x" + width);
        }
        byte[] out = new byte[image.length];
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < 3; c++) {
                int src = (b * 3 + c) * plane;
                for (int p = 0; p < plane; p++) {
                    float x = Math.min(Math.max(image[src + p] / 2f + 0.5f, 0f), 1f);
                    out[(b * plane + p) * 3 + c] = (byte) (int) Math.rint(x * 255f);
                }
            }
        }
        return out;
    }

    private void checkLatents(float[] latents, long[] shape) {
        if (shape.length != 4 || shape[1] != config.latentChannels() || shape[0] <= 0 || shape[2] <= 0 || shape[3] <= 0) {
            throw new IllegalArgumentException("latents must be [batch, " + config.latentChannels() + ", h, w], got "
                    + Arrays.toString(shape));
        }
        if (Arrays.stream(shape).reduce(1, Math::multiplyExact) != latents.length) {
            throw new IllegalArgumentException(latents.length + " values do not fill shape " + Arrays.toString(shape));
        }
        if (!allFinite(latents)) throw new IllegalArgumentException("latents contain NaN or infinite values");
    }

    /** One decoder output: [batch, 3, height, width]. */
    private record Tile(float[] data, int batch, int height, int width) {
        int index(int b, int c, int y, int x) {
            return ((b * 3 + c) * height + y) * width + x;
        }
    }

    private Tile run(float[] latentSample, long[] shape, int expectHeight, int expectWidth) {
        Tile tile = run(model, latentSample, shape);
        if (!allFinite(tile.data)) {
            if (!model.isFloat16(INPUT)) {
                throw new IllegalStateException("VAE decoder produced NaN or infinite values (" + model.file() + ")");
            }
            if (float32Fallback == null) {
                throw new IllegalStateException("the float16 VAE decoder overflowed (NaN/Inf in its output) and no "
                        + "float32 VAE decoder is configured to retry with; use a float32 (or fp16-fixed) VAE");
            }
            tile = run(fallback(), latentSample, shape);
            if (!allFinite(tile.data)) {
                throw new IllegalStateException("VAE decoder produced NaN or infinite values even in float32");
            }
        }
        if (tile.height != expectHeight || tile.width != expectWidth) {
            throw new IllegalStateException("VAE decoder returned " + tile.height + "x" + tile.width + " for latents "
                    + Arrays.toString(shape) + "; expected " + expectHeight + "x" + expectWidth
                    + " (scale factor " + config.scaleFactor() + ")");
        }
        return tile;
    }

    private synchronized OnnxModel fallback() {
        if (fallbackModel == null) fallbackModel = float32Fallback.get();
        return fallbackModel;
    }

    private static Tile run(OnnxModel model, float[] latentSample, long[] shape) {
        try (OnnxTensor input = model.floatInput(INPUT, latentSample, shape);
             OrtSession.Result result = model.run(Map.of(INPUT, input), null)) {
            var output = result.get(OUTPUT).orElseThrow();
            long[] outShape = OnnxModel.shape(output);
            if (outShape.length != 4 || outShape[0] != shape[0] || outShape[1] != 3) {
                throw new IllegalStateException("VAE decoder output shape " + Arrays.toString(outShape)
                        + " is not [" + shape[0] + ", 3, H, W]");
            }
            return new Tile(OnnxModel.floats(output), (int) outShape[0], (int) outShape[2], (int) outShape[3]);
        } catch (OrtException e) {
            throw new IllegalStateException("VAE decode failed: " + e.getMessage(), e);
        }
    }

    /**
     * Decodes tile by tile (the whole batch at once) and adds each tile into the image weighted by its blend weights
     * along both axes; only the image and one tile are held.
     */
    private float[] tiledDecode(float[] latents, int batch, int height, int width) {
        int scale = config.scaleFactor();
        int[] rows = tiling.tileStarts(height, scale), columns = tiling.tileStarts(width, scale);
        int tileHeight = Math.min(tiling.tileSize() / scale, height), tileWidth = Math.min(tiling.tileSize() / scale, width);
        float[][] rowWeights = blendWeights(rows, tileHeight, height, scale);
        float[][] columnWeights = blendWeights(columns, tileWidth, width, scale);
        int outHeight = height * scale, outWidth = width * scale;
        float[] out = new float[batch * 3 * outHeight * outWidth];
        for (int r = 0; r < rows.length; r++) {
            for (int c = 0; c < columns.length; c++) {
                float[] part = crop(latents, batch, config.latentChannels(), height, width, rows[r], columns[c],
                        tileHeight, tileWidth);
                Tile tile = run(part, new long[]{batch, config.latentChannels(), tileHeight, tileWidth},
                        tileHeight * scale, tileWidth * scale);
                addWeighted(tile, rowWeights[r], columnWeights[c], out, outHeight, outWidth, rows[r] * scale,
                        columns[c] * scale);
            }
        }
        return out;
    }

    /**
     * Each tile's share of the output pixels it covers along one axis: 1 where it is alone, ramping linearly (sampled
     * at pixel centres) down to its edges across the overlap with each neighbour, then divided by the sum over tiles,
     * so the shares of every pixel add up to 1 and a pixel covered by one tile is that tile's value unchanged.
     *
     * @param starts tile starts in latents
     * @param length tile length in latents
     * @param size   axis length in latents
     */
    static float[][] blendWeights(int[] starts, int length, int size, int scale) {
        int pixels = length * scale;
        double[][] raw = new double[starts.length][pixels];
        double[] sum = new double[size * scale];
        for (int k = 0; k < starts.length; k++) {
            int before = k > 0 ? (starts[k - 1] + length - starts[k]) * scale : 0;
            int after = k + 1 < starts.length ? (starts[k] + length - starts[k + 1]) * scale : 0;
            for (int p = 0; p < pixels; p++) {
                double rampUp = p < before ? (p + 0.5) / before : 1;
                double rampDown = pixels - p <= after ? (pixels - p - 0.5) / after : 1;
                raw[k][p] = Math.min(rampUp, rampDown);
                sum[starts[k] * scale + p] += raw[k][p];
            }
        }
        float[][] weights = new float[starts.length][pixels];
        for (int k = 0; k < starts.length; k++) {
            for (int p = 0; p < pixels; p++) weights[k][p] = (float) (raw[k][p] / sum[starts[k] * scale + p]);
        }
        return weights;
    }

    private static float[] crop(float[] src, int batch, int channels, int height, int width,
                                int top, int left, int cropHeight, int cropWidth) {
        float[] out = new float[batch * channels * cropHeight * cropWidth];
        int o = 0;
        for (int bc = 0; bc < batch * channels; bc++) {
            for (int y = 0; y < cropHeight; y++) {
                System.arraycopy(src, (bc * height + top + y) * width + left, out, o, cropWidth);
                o += cropWidth;
            }
        }
        return out;
    }

    private static void addWeighted(Tile tile, float[] rowWeights, float[] columnWeights, float[] out, int outHeight,
                                    int outWidth, int top, int left) {
        for (int b = 0; b < tile.batch; b++) {
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < tile.height; y++) {
                    int from = tile.index(b, c, y, 0), to = ((b * 3 + c) * outHeight + top + y) * outWidth + left;
                    for (int x = 0; x < tile.width; x++) {
                        out[to + x] += tile.data[from + x] * (rowWeights[y] * columnWeights[x]);
                    }
                }
            }
        }
    }

    static boolean allFinite(float[] values) {
        for (float v : values) {
            if (!Float.isFinite(v)) return false;
        }
        return true;
    }
}
