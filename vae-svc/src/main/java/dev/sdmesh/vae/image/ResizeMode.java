package dev.sdmesh.vae.image;

/**
 * AUTOMATIC1111's img2img resize modes ({@code modules/images.py resize_image}), with Pillow-exact Lanczos
 * ({@link LanczosResampler}). An image that already has the requested size passes through untouched in every mode.
 */
public enum ResizeMode {
    /** 0: stretch to the requested size. */
    JUST_RESIZE,
    /** 1: scale to cover the requested size, keep the aspect ratio, centre-crop the excess. */
    CROP_AND_RESIZE,
    /** 2: scale to fit inside, centre, and fill the bars by stretching the image's edge rows or columns. */
    RESIZE_AND_FILL;

    /** A1111's numbering (0, 1, 2). */
    public static ResizeMode fromA1111(int mode) {
        return switch (mode) {
            case 0 -> JUST_RESIZE;
            case 1 -> CROP_AND_RESIZE;
            case 2 -> RESIZE_AND_FILL;
            default -> throw new IllegalArgumentException("resize mode " + mode + " is not 0 (just resize), "
                    + "1 (crop and resize) or 2 (resize and fill)");
        };
    }

    public Pixels apply(Pixels im, int width, int height) {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("target size " + width + "x" + height);
        if (im.width() == width && im.height() == height) return im;
        if (this == JUST_RESIZE) return LanczosResampler.resize(im, width, height);
        // A1111 compares the ratios as Python floats and sizes with floor division.
        double ratio = (double) width / height, srcRatio = (double) im.width() / im.height();
        boolean widthBound = this == CROP_AND_RESIZE ? ratio > srcRatio : ratio < srcRatio;
        boolean heightBound = this == CROP_AND_RESIZE ? ratio <= srcRatio : ratio >= srcRatio;
        int srcW = widthBound ? width : (int) ((long) im.width() * height / im.height());
        int srcH = heightBound ? height : (int) ((long) im.height() * width / im.width());
        Pixels resized = LanczosResampler.resize(im, srcW, srcH);
        Canvas canvas = new Canvas(width, height, im.channels());
        canvas.paste(resized, width / 2 - srcW / 2, height / 2 - srcH / 2);
        if (this == RESIZE_AND_FILL) {
            // Resizing an empty box at an edge, Pillow weights the three lines next to it: the bars continue the edge.
            if (ratio < srcRatio) {
                int fill = height / 2 - srcH / 2;
                if (fill > 0) {
                    canvas.paste(LanczosResampler.resize(resized, width, fill, 0, 0, width, 0), 0, 0);
                    canvas.paste(LanczosResampler.resize(resized, width, fill, 0, srcH, width, srcH), 0, fill + srcH);
                }
            } else if (ratio > srcRatio) {
                int fill = width / 2 - srcW / 2;
                if (fill > 0) {
                    canvas.paste(LanczosResampler.resize(resized, fill, height, 0, 0, 0, height), 0, 0);
                    canvas.paste(LanczosResampler.resize(resized, fill, height, srcW, 0, srcW, height), fill + srcW, 0);
                }
            }
        }
        return canvas.toPixels();
    }

    /** {@code Image.new(mode, size)} (black) with Pillow's {@code paste}, which clips what falls outside. */
    private static final class Canvas {
        private final int width, height, channels;
        private final byte[] data;

        Canvas(int width, int height, int channels) {
            this.width = width;
            this.height = height;
            this.channels = channels;
            this.data = new byte[width * height * channels];
        }

        void paste(Pixels p, int left, int top) {
            int x0 = Math.max(left, 0), x1 = Math.min(left + p.width(), width);
            if (x1 <= x0) return;
            for (int y = Math.max(top, 0); y < Math.min(top + p.height(), height); y++) {
                System.arraycopy(p.data(), ((y - top) * p.width() + (x0 - left)) * channels,
                        data, (y * width + x0) * channels, (x1 - x0) * channels);
            }
        }

        Pixels toPixels() {
            return new Pixels(width, height, channels, data);
        }
    }
}
