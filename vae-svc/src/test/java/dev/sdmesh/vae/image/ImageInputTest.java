package dev.sdmesh.vae.image;

import dev.sdmesh.runtime.testing.ReferenceData;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageInputTest {
    private final ImageInput input = new ImageInput(ImageInput.Limits.defaults());

    private static byte[] encode(BufferedImage image, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(image, format, out));
        return out.toByteArray();
    }

    @Test
    void decodesTheReferencePngsAsPillow() throws IOException {
        String dir = "cases/inp4ch_ddim_s20_str1.0_g7.5_rect/";
        Pixels rgb = input.decodeRgb(Files.readAllBytes(ReferenceData.publicDir().resolve(dir + "init_image.png")));
        assertEquals(3, rgb.channels());
        // The case's final image as diffusers saved it, against the uint8 array it was saved from.
        Pixels out = input.decodeRgb(Files.readAllBytes(ReferenceData.publicDir().resolve(dir + "image_0.png")));
        assertArrayEquals(ReferenceData.npy(dir + "image_uint8.npy").toBytes(), out.data());
        Pixels mask = input.decodeGray(Files.readAllBytes(ReferenceData.publicDir().resolve(dir + "mask_image.png")));
        assertEquals(1, mask.channels());
        assertEquals(64, mask.width());
    }

    @Test
    void dropsAlphaAndReplicatesGrayAsPillowConvert() throws IOException {
        BufferedImage rgba = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        rgba.setRGB(0, 0, 0x00_10_20_30);
        rgba.setRGB(1, 0, 0x80_ff_00_7f);
        Pixels rgb = input.decodeRgb(encode(rgba, "png"));
        assertArrayEquals(new byte[]{0x10, 0x20, 0x30, (byte) 0xff, 0, 0x7f}, rgb.data());
        // PIL's L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16
        assertArrayEquals(new byte[]{(byte) ((0x10 * 19595 + 0x20 * 38470 + 0x30 * 7471 + 0x8000) >> 16),
                (byte) ((0xff * 19595 + 0x7f * 7471 + 0x8000) >> 16)}, input.decodeRgb(encode(rgba, "png")).toGray().data());

        BufferedImage gray = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_GRAY);
        gray.getRaster().setPixels(0, 0, 3, 1, new int[]{0, 77, 200});
        // Stored samples, not Java's linear-gray-to-sRGB conversion.
        assertArrayEquals(new byte[]{0, 0, 0, 77, 77, 77, (byte) 200, (byte) 200, (byte) 200},
                input.decodeRgb(encode(gray, "png")).data());
        assertArrayEquals(new byte[]{0, 77, (byte) 200}, input.decodeGray(encode(gray, "png")).data());
    }

    @Test
    void decodesJpeg() throws IOException {
        BufferedImage image = new BufferedImage(16, 8, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 8; y++) for (int x = 0; x < 16; x++) image.setRGB(x, y, 0x406080);
        Pixels rgb = input.decodeRgb(encode(image, "jpeg"));
        assertEquals(16, rgb.width());
        for (int i = 0; i < rgb.data().length; i += 3) {
            assertTrue(Math.abs((rgb.data()[i] & 0xff) - 0x40) <= 2 && Math.abs((rgb.data()[i + 2] & 0xff) - 0x80) <= 2);
        }
    }

    /** A 1x1 PNG whose header claims 50000x50000: refused from the header, before any pixel memory is allocated. */
    @Test
    void refusesDecompressionBombsFromTheHeader() throws IOException {
        byte[] png = encode(new BufferedImage(1, 1, BufferedImage.TYPE_3BYTE_BGR), "png");
        ByteBuffer ihdr = ByteBuffer.wrap(png);
        ihdr.putInt(16, 50_000).putInt(20, 50_000);
        CRC32 crc = new CRC32();
        crc.update(png, 12, 17);
        ihdr.putInt(29, (int) crc.getValue());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> input.decodeRgb(png));
        assertTrue(e.getMessage().contains("50000x50000"), e.getMessage());

        byte[] wide = encode(new BufferedImage(4097, 1, BufferedImage.TYPE_3BYTE_BGR), "png");
        assertThrows(IllegalArgumentException.class, () -> input.decodeRgb(wide));
        assertEquals(4097, new ImageInput(new ImageInput.Limits(8192, 8192, 1 << 20)).decodeRgb(wide).width());
        assertThrows(IllegalArgumentException.class,
                () -> new ImageInput(new ImageInput.Limits(4096, 4096, png.length - 1)).decodeRgb(png));
    }

    @Test
    void refusesUndecodableBytes() throws IOException {
        assertThrows(IllegalArgumentException.class, () -> input.decodeRgb(new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> input.decodeRgb("not an image at all".getBytes()));
        byte[] png = encode(new BufferedImage(64, 64, BufferedImage.TYPE_3BYTE_BGR), "png");
        assertThrows(IllegalArgumentException.class, () -> input.decodeRgb(Arrays.copyOf(png, png.length / 2)));
        byte[] gif = encode(new BufferedImage(4, 4, BufferedImage.TYPE_3BYTE_BGR), "gif");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> input.decodeRgb(gif));
        assertTrue(e.getMessage().contains("gif"), e.getMessage());
    }
}
