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
 * overflow (diffusers marks it {@code force_upcast}); when a float16 decode yields NaN/Inf the decode is repeated on
 * the float32 session the caller's fallback supplies, and without a fallback it fails with a message that says so.
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
     * diffusers' {@code tiled_decode}: tiles start every {@code stride} latents; each tile is blended with the (already
     * blended) tile above ({@code blend_v}) and then the one to its left ({@code blend_h}), and its top-left
     * {@code tileSize - overlap} pixels are kept. Only the previous row of tiles is held.
     */
    private float[] tiledDecode(float[] latents, int batch, int height, int width) {
        int scale = config.scaleFactor();
        int tileLatent = tiling.tileSize() / scale;
        int stride = (tiling.tileSize() - tiling.overlap()) / scale;
        int rowLimit = tiling.tileSize() - tiling.overlap();
        int outHeight = height * scale, outWidth = width * scale;
        float[] out = new float[batch * 3 * outHeight * outWidth];
        Tile[] above = null;
        for (int i = 0; i < height; i += stride) {
            int columns = (width + stride - 1) / stride;
            Tile[] row = new Tile[columns];
            for (int j = 0, col = 0; j < width; j += stride, col++) {
                int th = Math.min(tileLatent, height - i), tw = Math.min(tileLatent, width - j);
                float[] part = crop(latents, batch, config.latentChannels(), height, width, i, j, th, tw);
                Tile tile = run(part, new long[]{batch, config.latentChannels(), th, tw}, th * scale, tw * scale);
                if (above != null) blendVertical(above[col], tile, tiling.overlap());
                if (col > 0) blendHorizontal(row[col - 1], tile, tiling.overlap());
                row[col] = tile;
                paste(tile, Math.min(rowLimit, tile.height), Math.min(rowLimit, tile.width), out, outHeight, outWidth,
                        i * scale, j * scale);
            }
            above = row;
        }
        return out;
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

    private static void paste(Tile tile, int keepHeight, int keepWidth, float[] out, int outHeight, int outWidth,
                              int top, int left) {
        for (int b = 0; b < tile.batch; b++) {
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < keepHeight; y++) {
                    System.arraycopy(tile.data, tile.index(b, c, y, 0), out,
                            ((b * 3 + c) * outHeight + top + y) * outWidth + left, keepWidth);
                }
            }
        }
    }

    /** {@code blend_v}: row y of b becomes a's row (extent - y from its bottom) weighted 1 - y/extent, plus b's y/extent. */
    private static void blendVertical(Tile a, Tile b, int overlap) {
        int extent = Math.min(Math.min(a.height, b.height), overlap);
        for (int y = 0; y < extent; y++) {
            float keep = (float) (1 - (double) y / extent), take = (float) ((double) y / extent);
            for (int n = 0; n < b.batch; n++) {
                for (int c = 0; c < 3; c++) {
                    int from = a.index(n, c, a.height - extent + y, 0), to = b.index(n, c, y, 0);
                    for (int x = 0; x < b.width; x++) b.data[to + x] = a.data[from + x] * keep + b.data[to + x] * take;
                }
            }
        }
    }

    /** {@code blend_h}: the same across columns. */
    private static void blendHorizontal(Tile a, Tile b, int overlap) {
        int extent = Math.min(Math.min(a.width, b.width), overlap);
        for (int x = 0; x < extent; x++) {
            float keep = (float) (1 - (double) x / extent), take = (float) ((double) x / extent);
            for (int n = 0; n < b.batch; n++) {
                for (int c = 0; c < 3; c++) {
                    for (int y = 0; y < b.height; y++) {
                        int to = b.index(n, c, y, x);
                        b.data[to] = a.data[a.index(n, c, y, a.width - extent + x)] * keep + b.data[to] * take;
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
