package dev.sdmesh.vae.pipeline;

/**
 * diffusers 0.25's inpaint mask handling: {@code mask_processor.preprocess} (grayscale {@code / 255}, binarised at
 * 0.5), the masked image {@code image * (mask < 0.5)} and the latent-resolution mask from
 * {@code F.interpolate(mask, size=(H // 8, W // 8))} (mode "nearest").
 *
 * @param values {0, 1} per pixel, [batch, 1, height, width]; 1 = repaint
 */
public record InpaintMask(float[] values, int batch, int height, int width) {

    public InpaintMask {
        if (values.length != batch * height * width) {
            throw new IllegalArgumentException(values.length + " mask values are not " + batch + "x1x" + height + "x" + width);
        }
    }

    /** Grayscale uint8 masks [batch, height, width] (255 = repaint): {@code x / 255 >= 0.5} becomes 1, the rest 0. */
    public static InpaintMask binarize(byte[] gray, int batch, int height, int width) {
        float[] values = new float[gray.length];
        for (int i = 0; i < values.length; i++) values[i] = (gray[i] & 0xff) / 255f >= 0.5f ? 1f : 0f;
        return new InpaintMask(values, batch, height, width);
    }

    /**
     * {@code image * (mask < 0.5)} for a preprocessed image [batch, 3, height, width]; a multiplication, as torch does
     * it, so negative pixels under the mask become -0.0 exactly as in diffusers.
     */
    public float[] maskedImage(float[] image) {
        int plane = height * width;
        if (image.length != batch * 3 * plane) {
            throw new IllegalArgumentException("image of " + image.length + " values does not match the " + width + "x"
                    + height + " mask");
        }
        float[] out = new float[image.length];
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < 3; c++) {
                for (int p = 0; p < plane; p++) {
                    int i = (b * 3 + c) * plane + p;
                    out[i] = image[i] * (values[b * plane + p] < 0.5f ? 1f : 0f);
                }
            }
        }
        return out;
    }

    /**
     * The mask at latent size [batch, 1, height / scale, width / scale], by torch's "nearest" rule: source index
     * {@code min(floor(dst * (float) in / out), in - 1)}.
     */
    public float[] latentMask(int scaleFactor) {
        int outHeight = height / scaleFactor, outWidth = width / scaleFactor;
        float[] out = new float[batch * outHeight * outWidth];
        for (int b = 0; b < batch; b++) {
            for (int y = 0; y < outHeight; y++) {
                int sy = nearest(y, height, outHeight);
                for (int x = 0; x < outWidth; x++) {
                    out[(b * outHeight + y) * outWidth + x] = values[(b * height + sy) * width + nearest(x, width, outWidth)];
                }
            }
        }
        return out;
    }

    private static int nearest(int dst, int inSize, int outSize) {
        if (inSize == outSize) return dst;
        float scale = (float) inSize / outSize;
        return Math.min((int) Math.floor(dst * scale), inSize - 1);
    }
}
