package dev.sdmesh.runtime.image;

import org.w3c.dom.Node;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOInvalidTreeException;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataFormatImpl;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Encodes uint8 RGB images as PNG with text chunks, as AUTOMATIC1111 saves them: its infotext under the keyword
 * {@code parameters} (see {@link Infotext}) and, here, the request as JSON under {@code sdmesh}. Like Pillow's
 * {@code PngInfo.add_text}, a text that Latin-1 can hold goes into a {@code tEXt} chunk and any other into an
 * uncompressed UTF-8 {@code iTXt} chunk, so A1111's "PNG Info" tab and other readers find it.
 */
public final class PngWriter {
    public static final String PARAMETERS = "parameters";
    public static final String SDMESH = "sdmesh";
    private static final String PNG_FORMAT = "javax_imageio_png_1.0";

    private PngWriter() {
    }

    /** A PNG with A1111's {@code parameters} chunk and the {@code sdmesh} JSON chunk (either may be null to omit it). */
    public static byte[] write(byte[] rgb, int width, int height, String parameters, String sdmeshJson) {
        Map<String, String> text = new LinkedHashMap<>();
        if (parameters != null) text.put(PARAMETERS, parameters);
        if (sdmeshJson != null) text.put(SDMESH, sdmeshJson);
        return write(rgb, width, height, text);
    }

    /**
     * @param rgb  uint8 [height, width, 3], row-major RGB
     * @param text keyword (1-79 Latin-1 characters) to text, written in this order
     */
    public static byte[] write(byte[] rgb, int width, int height, Map<String, String> text) {
        if (width <= 0 || height <= 0 || rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException(rgb.length + " bytes are not a " + width + "x" + height + " RGB image");
        }
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
        byte[] bgr = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < rgb.length; i += 3) {
            bgr[i] = rgb[i + 2];
            bgr[i + 1] = rgb[i + 1];
            bgr[i + 2] = rgb[i];
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
             ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            ImageWriteParam param = writer.getDefaultWriteParam();
            IIOMetadata metadata = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(image), param);
            metadata.mergeTree(PNG_FORMAT, textChunks(text));
            writer.setOutput(out);
            writer.write(null, new IIOImage(image, null, metadata), param);
            out.flush();
            return bytes.toByteArray();
        } catch (IIOInvalidTreeException e) {
            throw new IllegalArgumentException("invalid PNG text chunk: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding failed", e);
        } finally {
            writer.dispose();
        }
    }

    private static IIOMetadataNode textChunks(Map<String, String> text) {
        IIOMetadataNode root = new IIOMetadataNode(PNG_FORMAT);
        IIOMetadataNode latin1 = new IIOMetadataNode("tEXt");
        IIOMetadataNode international = new IIOMetadataNode("iTXt");
        text.forEach((keyword, value) -> {
            if (keyword.isEmpty() || keyword.length() > 79 || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(keyword)) {
                throw new IllegalArgumentException("PNG text keyword '" + keyword + "' must be 1-79 Latin-1 characters");
            }
            if (StandardCharsets.ISO_8859_1.newEncoder().canEncode(value)) {
                IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
                entry.setAttribute("keyword", keyword);
                entry.setAttribute("value", value);
                latin1.appendChild(entry);
            } else {
                IIOMetadataNode entry = new IIOMetadataNode("iTXtEntry");
                entry.setAttribute("keyword", keyword);
                entry.setAttribute("compressionFlag", "FALSE");
                entry.setAttribute("compressionMethod", "0");
                entry.setAttribute("languageTag", "");
                entry.setAttribute("translatedKeyword", "");
                entry.setAttribute("text", value);
                international.appendChild(entry);
            }
        });
        if (latin1.hasChildNodes()) root.appendChild(latin1);
        if (international.hasChildNodes()) root.appendChild(international);
        return root;
    }

    /** The text chunks (tEXt, zTXt, iTXt) of a PNG, keyword to text, read through ImageIO's standard metadata tree. */
    public static Map<String, String> readText(byte[] png) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(png))) {
            var readers = ImageIO.getImageReadersByFormatName("png");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, false);
                IIOMetadata metadata = reader.getImageMetadata(0);
                Node root = metadata.getAsTree(IIOMetadataFormatImpl.standardMetadataFormatName);
                Map<String, String> text = new LinkedHashMap<>();
                for (Node node = root.getFirstChild(); node != null; node = node.getNextSibling()) {
                    if (!node.getNodeName().equals("Text")) continue;
                    for (Node entry = node.getFirstChild(); entry != null; entry = entry.getNextSibling()) {
                        var attributes = entry.getAttributes();
                        text.put(attributes.getNamedItem("keyword").getNodeValue(),
                                attributes.getNamedItem("value").getNodeValue());
                    }
                }
                return text;
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("not a readable PNG: " + e.getMessage(), e);
        }
    }
}
