package dev.sdmesh.vae.pipeline;

import java.util.Arrays;

/**
 * A decoded batch.
 *
 * @param imageFloat the raw decoder output, NCHW, unclamped (diffusers' {@code image_float}); null unless asked for
 * @param rgb        the postprocessed images, uint8 [batch, height, width, 3] (HWC, RGB)
 */
public record DecodedImages(int batch, int height, int width, float[] imageFloat, byte[] rgb) {

    /** Image {@code index} as uint8 HWC RGB, ready for {@code PngWriter}. */
    public byte[] rgb(int index) {
        int size = height * width * 3;
        return Arrays.copyOfRange(rgb, index * size, (index + 1) * size);
    }
}
