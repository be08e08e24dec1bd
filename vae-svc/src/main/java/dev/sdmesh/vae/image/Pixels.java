package dev.sdmesh.vae.image;

/**
 * An 8-bit image, row-major HWC: {@code channels} bytes per pixel (1 = grayscale, 3 = RGB).
 */
public record Pixels(int width, int height, int channels, byte[] data) {

    public Pixels {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size " + width + "x" + height);
        if (channels != 1 && channels != 3) throw new IllegalArgumentException(channels + " channels (1 or 3 supported)");
        if (data.length != (long) width * height * channels) {
            throw new IllegalArgumentException(data.length + " bytes are not a " + width + "x" + height + "x" + channels + " image");
        }
    }

    /**
     * PIL's {@code convert("L")} (ITU-R 601-2 luma in PIL's fixed point: {@code (19595 R + 38470 G + 7471 B + 0x8000)
     * >> 16}), as diffusers' mask processor and A1111 turn a mask into grayscale.
     */
    public Pixels toGray() {
        if (channels == 1) return this;
        byte[] gray = new byte[width * height];
        for (int i = 0; i < gray.length; i++) {
            int r = data[3 * i] & 0xff, g = data[3 * i + 1] & 0xff, b = data[3 * i + 2] & 0xff;
            gray[i] = (byte) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
        }
        return new Pixels(width, height, 1, gray);
    }
}
