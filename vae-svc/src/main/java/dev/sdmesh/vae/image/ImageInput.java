package dev.sdmesh.vae.image;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;

/**
 * Decodes client-supplied PNG/JPEG bytes with limits. The header's dimensions are read before any pixel is decoded,
 * so a small file that claims a huge image (a decompression bomb) is refused without allocating it.
 *
 * <p>Pixel values are taken as stored, the way Pillow's {@code convert("RGB")} / {@code convert("L")} see them: no
 * colour management (an embedded ICC profile or gAMA is ignored), alpha dropped without compositing, grayscale
 * replicated to RGB. JPEG decoding uses Java's decoder, whose IDCT and chroma upsampling may differ from libjpeg's by
 * a level or so; PNGs decode identically.
 */
public final class ImageInput {

    /**
     * @param maxWidth  widest image accepted, in pixels
     * @param maxHeight tallest image accepted, in pixels
     * @param maxBytes  largest encoded size accepted
     */
    public record Limits(int maxWidth, int maxHeight, long maxBytes) {
        public static Limits defaults() {
            return new Limits(4096, 4096, 32L * 1024 * 1024);
        }
    }

    private final Limits limits;

    public ImageInput(Limits limits) {
        this.limits = limits;
    }

    /** An RGB image (3 channels). */
    public Pixels decodeRgb(byte[] encoded) {
        Pixels raw = decode(encoded);
        if (raw.channels() == 3) return raw;
        byte[] rgb = new byte[raw.data().length * 3];
        for (int i = 0; i < raw.data().length; i++) {
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = raw.data()[i];
        }
        return new Pixels(raw.width(), raw.height(), 3, rgb);
    }

    /** A grayscale image (1 channel), as Pillow's {@code convert("L")}: for inpainting masks. */
    public Pixels decodeGray(byte[] encoded) {
        return decode(encoded).toGray();
    }

    private Pixels decode(byte[] encoded) {
        if (encoded == null || encoded.length == 0) throw new IllegalArgumentException("image is empty");
        if (encoded.length > limits.maxBytes()) {
            throw new IllegalArgumentException("image is " + encoded.length + " bytes; the limit is " + limits.maxBytes());
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(encoded))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new IllegalArgumentException("image is not a PNG or JPEG (format not recognised)");
            ImageReader reader = readers.next();
            try {
                String format = reader.getFormatName().toLowerCase(Locale.ROOT);
                if (!format.equals("png") && !format.equals("jpeg") && !format.equals("jpg")) {
                    throw new IllegalArgumentException("image format " + format + " is not accepted (PNG or JPEG)");
                }
                reader.setInput(in, true, true);
                int width = reader.getWidth(0), height = reader.getHeight(0);
                if (width <= 0 || height <= 0 || width > limits.maxWidth() || height > limits.maxHeight()) {
                    throw new IllegalArgumentException("image is " + width + "x" + height + "; the limit is "
                            + limits.maxWidth() + "x" + limits.maxHeight());
                }
                return pixels(reader.read(0));
            } finally {
                reader.dispose();
            }
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // Truncated or corrupt data surfaces as IIOException or as runtime errors from inside the decoders.
            throw new IllegalArgumentException("image cannot be decoded: " + e, e);
        }
    }

    private static Pixels pixels(BufferedImage image) {
        int width = image.getWidth(), height = image.getHeight();
        Raster raster = image.getRaster();
        int bands = raster.getNumBands();
        if (image.getColorModel() instanceof ComponentColorModel && raster.getDataBuffer().getDataType() == DataBuffer.TYPE_BYTE
                && bands >= 1 && bands <= 4) {
            // 8-bit gray, gray+alpha, RGB or RGBA: the stored samples, first one or three bands.
            int channels = bands <= 2 ? 1 : 3;
            byte[] out = new byte[width * height * channels];
            int[] row = new int[width * bands];
            for (int y = 0; y < height; y++) {
                raster.getPixels(0, y, width, 1, row);
                for (int x = 0; x < width; x++) {
                    for (int c = 0; c < channels; c++) out[(y * width + x) * channels + c] = (byte) row[x * bands + c];
                }
            }
            return new Pixels(width, height, channels, out);
        }
        // Palette, 16-bit and packed images: Java's sRGB conversion (a palette is looked up exactly).
        byte[] out = new byte[width * height * 3];
        int[] argb = new int[width];
        for (int y = 0; y < height; y++) {
            image.getRGB(0, y, width, 1, argb, 0, width);
            for (int x = 0; x < width; x++) {
                int o = (y * width + x) * 3;
                out[o] = (byte) (argb[x] >> 16);
                out[o + 1] = (byte) (argb[x] >> 8);
                out[o + 2] = (byte) argb[x];
            }
        }
        return new Pixels(width, height, 3, out);
    }
}
