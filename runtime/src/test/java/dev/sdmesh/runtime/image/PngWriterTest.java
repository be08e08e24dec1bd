package dev.sdmesh.runtime.image;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadataFormatImpl;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PngWriterTest {

    @Test
    void writesPixelsAndTextChunks() throws Exception {
        int width = 5, height = 3;
        byte[] rgb = new byte[width * height * 3];
        new Random(1).nextBytes(rgb);
        String parameters = Infotext.format(new Infotext.Settings("a café, at night", "blurry", 20, "Euler a", null, 7, 1,
                width, height, "tiny", null, null));
        String json = "{\"prompt\":\"猫\",\"seed\":1}";
        byte[] png = PngWriter.write(rgb, width, height, parameters, json);

        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        byte[] back = new byte[rgb.length];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int argb = image.getRGB(x, y), o = (y * width + x) * 3;
                back[o] = (byte) (argb >> 16);
                back[o + 1] = (byte) (argb >> 8);
                back[o + 2] = (byte) argb;
            }
        }
        assertArrayEquals(rgb, back);

        // Read with ImageIO's own PNG reader and its standard ("javax_imageio_1.0") metadata tree.
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(png))) {
            ImageReader reader = ImageIO.getImageReaders(in).next();
            reader.setInput(in);
            var root = reader.getImageMetadata(0).getAsTree(IIOMetadataFormatImpl.standardMetadataFormatName);
            String text = null;
            for (var node = root.getFirstChild(); node != null; node = node.getNextSibling()) {
                if (!node.getNodeName().equals("Text")) continue;
                for (var entry = node.getFirstChild(); entry != null; entry = entry.getNextSibling()) {
                    if (entry.getAttributes().getNamedItem("keyword").getNodeValue().equals("parameters")) {
                        text = entry.getAttributes().getNamedItem("value").getNodeValue();
                    }
                }
            }
            assertEquals(parameters, text);
        }
        var chunks = PngWriter.readText(png);
        assertEquals(parameters, chunks.get(PngWriter.PARAMETERS));
        assertEquals(json, chunks.get(PngWriter.SDMESH));
        // Latin-1 text goes in tEXt, other text in iTXt, as Pillow's add_text does.
        String raw = new String(png, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(raw.contains("tEXtparameters\0"));
        assertTrue(raw.contains("iTXtsdmesh\0"));
    }

    @Test
    void rejectsWrongSizes() {
        assertThrows(IllegalArgumentException.class, () -> PngWriter.write(new byte[10], 2, 2, "x", null));
        assertThrows(IllegalArgumentException.class, () -> PngWriter.write(new byte[12], 2, 2,
                java.util.Map.of("", "empty keyword")));
    }
}
