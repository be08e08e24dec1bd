package dev.sdmesh.vae.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResizeModeTest {

    private static Pixels random(int width, int height) {
        byte[] data = new byte[width * height * 3];
        new Random(width * 31L + height).nextBytes(data);
        return new Pixels(width, height, 3, data);
    }

    /** Left half one colour, right half another. */
    private static Pixels halves(int width, int height, int left, int right) {
        byte[] data = new byte[width * height * 3];
        for (int i = 0; i < width * height; i++) {
            int rgb = i % width < width / 2 ? left : right;
            data[3 * i] = (byte) (rgb >> 16);
            data[3 * i + 1] = (byte) (rgb >> 8);
            data[3 * i + 2] = (byte) rgb;
        }
        return new Pixels(width, height, 3, data);
    }

    private static int rgb(Pixels p, int x, int y) {
        int o = (y * p.width() + x) * 3;
        return (p.data()[o] & 0xff) << 16 | (p.data()[o + 1] & 0xff) << 8 | (p.data()[o + 2] & 0xff);
    }

    @ParameterizedTest
    @EnumSource(ResizeMode.class)
    void imageOfTheRequestedSizePassesThrough(ResizeMode mode) {
        Pixels image = random(64, 48);
        assertSame(image, mode.apply(image, 64, 48));
    }

    @ParameterizedTest
    @EnumSource(ResizeMode.class)
    void flatColourStaysFlat(ResizeMode mode) {
        Pixels flat = halves(40, 30, 0x336699, 0x336699);
        Pixels out = mode.apply(flat, 64, 64);
        assertEquals(64, out.width());
        assertEquals(64, out.height());
        if (mode != ResizeMode.CROP_AND_RESIZE && mode != ResizeMode.JUST_RESIZE) return;
        for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) assertEquals(0x336699, rgb(out, x, y));
    }

    @Test
    void cropAndResizeKeepsTheCentre() {
        // 64x32 to 32x32: scaled to 64x32 (no change), pasted at x = -16, so columns 16..47 remain.
        Pixels out = ResizeMode.CROP_AND_RESIZE.apply(halves(64, 32, 0xff0000, 0x0000ff), 32, 32);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) assertEquals(x < 16 ? 0xff0000 : 0x0000ff, rgb(out, x, y));
        }
    }

    @Test
    void resizeAndFillStretchesTheEdges() {
        // 64x32 to 64x64: the image in rows 16..47, rows above and below filled from its top and bottom edges.
        Pixels out = ResizeMode.RESIZE_AND_FILL.apply(halves(64, 32, 0xff0000, 0x00ff00), 64, 64);
        for (int y = 0; y < 64; y++) {
            assertEquals(0xff0000, rgb(out, 0, y));
            assertEquals(0x00ff00, rgb(out, 63, y));
        }
        // 32x64 into 64x64: columns 16..47 hold the image, the bars repeat its left and right columns.
        Pixels tall = ResizeMode.RESIZE_AND_FILL.apply(halves(32, 64, 0x0000ff, 0xffff00), 64, 64);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) assertEquals(x < 32 ? 0x0000ff : 0xffff00, rgb(tall, x, y), x + "," + y);
        }
    }

    @Test
    void justResizeDownscalesSmoothly() {
        // 2:1 downscale of a one-pixel checkerboard averages it to mid grey (Lanczos weights are symmetric there).
        byte[] board = new byte[8 * 8 * 3];
        for (int i = 0; i < 64; i++) {
            byte v = (byte) (((i % 8) + (i / 8)) % 2 == 0 ? 255 : 0);
            board[3 * i] = board[3 * i + 1] = board[3 * i + 2] = v;
        }
        Pixels out = ResizeMode.JUST_RESIZE.apply(new Pixels(8, 8, 3, board), 4, 4);
        for (byte v : out.data()) assertTrue(Math.abs((v & 0xff) - 128) <= 40, "value " + (v & 0xff));
        Pixels up = ResizeMode.JUST_RESIZE.apply(random(16, 16), 40, 24);
        assertEquals(40, up.width());
        assertEquals(24, up.height());
    }

    @Test
    void rejectsUnknownModesAndSizes() {
        assertEquals(ResizeMode.RESIZE_AND_FILL, ResizeMode.fromA1111(2));
        assertThrows(IllegalArgumentException.class, () -> ResizeMode.fromA1111(3));
        assertThrows(IllegalArgumentException.class, () -> ResizeMode.JUST_RESIZE.apply(random(4, 4), 0, 4));
        assertThrows(IllegalArgumentException.class, () -> new Pixels(2, 2, 4, new byte[16]));
        assertArrayEquals(new byte[3], new Pixels(1, 1, 3, new byte[3]).data());
    }
}
