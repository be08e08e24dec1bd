package dev.sdmesh.unet.pipeline;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A cheap preview of SD latents without the VAE: each latent pixel becomes one RGB pixel through a fixed linear map
 * (the widely used SD 1.x latent-to-RGB approximation), written as a small PNG of the first image.
 */
public final class LatentPreview {
    /** RGB contribution of each of the four latent channels. */
    private static final float[][] LATENT_TO_RGB = {
            {0.298f, 0.207f, 0.208f},
            {0.187f, 0.286f, 0.173f},
            {-0.158f, 0.189f, 0.264f},
            {-0.184f, -0.271f, -0.473f},
    };

    private LatentPreview() {
    }

    /** PNG of image 0 of {@code latents} [B, C, h, w] (only the first four channels are used). */
    public static byte[] png(float[] latents, int channels, int height, int width) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int plane = height * width;
        int used = Math.min(channels, LATENT_TO_RGB.length);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                float[] rgb = new float[3];
                for (int c = 0; c < used; c++) {
                    float v = latents[c * plane + y * width + x];
                    for (int k = 0; k < 3; k++) rgb[k] += v * LATENT_TO_RGB[c][k];
                }
                int r = toByte(rgb[0]);
                int g = toByte(rgb[1]);
                int b = toByte(rgb[2]);
                image.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static int toByte(float v) {
        return Math.max(0, Math.min(255, Math.round((v + 1) * 127.5f)));
    }
}
