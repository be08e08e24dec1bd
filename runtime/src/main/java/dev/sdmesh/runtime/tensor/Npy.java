package dev.sdmesh.runtime.tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} (format 1.0/2.0) reader and writer for little-endian, C-order arrays: the format of the
 * reference data and of the latents the orchestrator hands out.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']+)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    /** A parsed array: numpy dtype string (e.g. {@code <f4}), shape and raw little-endian data. */
    public record Array(String descr, long[] shape, ByteBuffer data) {
        public int size() {
            return Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact));
        }

        public float[] toFloats() {
            float[] out = new float[size()];
            switch (descr) {
                case "<f4" -> data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
                case "<f8" -> {
                    var b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
                    for (int i = 0; i < out.length; i++) out[i] = (float) b.get(i);
                }
                default -> throw new IllegalStateException("not a float array: " + descr);
            }
            return out;
        }

        public double[] toDoubles() {
            double[] out = new double[size()];
            switch (descr) {
                case "<f8" -> data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(out);
                case "<f4" -> {
                    var b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                    for (int i = 0; i < out.length; i++) out[i] = b.get(i);
                }
                case "<i8" -> {
                    var b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
                    for (int i = 0; i < out.length; i++) out[i] = b.get(i);
                }
                case "<i4" -> {
                    var b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
                    for (int i = 0; i < out.length; i++) out[i] = b.get(i);
                }
                default -> throw new IllegalStateException("not a numeric array: " + descr);
            }
            return out;
        }

        public long[] toLongs() {
            long[] out = new long[size()];
            switch (descr) {
                case "<i8" -> data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
                case "<i4" -> {
                    var b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
                    for (int i = 0; i < out.length; i++) out[i] = b.get(i);
                }
                default -> throw new IllegalStateException("not an integer array: " + descr);
            }
            return out;
        }

        public int[] toInts() {
            return Arrays.stream(toLongs()).mapToInt(Math::toIntExact).toArray();
        }

        public byte[] toBytes() {
            byte[] out = new byte[data.remaining()];
            data.duplicate().get(out);
            return out;
        }
    }

    private Npy() {
    }

    public static Array read(Path file) throws IOException {
        return parse(Files.readAllBytes(file), file.toString());
    }

    public static Array parse(byte[] bytes, String name) {
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (byte b : MAGIC) {
            if (buf.get() != b) throw new IllegalArgumentException(name + ": not an .npy file");
        }
        int major = buf.get();
        buf.get();
        int headerLen = major == 1 ? Short.toUnsignedInt(buf.getShort()) : buf.getInt();
        String header = new String(bytes, buf.position(), headerLen, StandardCharsets.ISO_8859_1);
        buf.position(buf.position() + headerLen);
        Matcher d = DESCR.matcher(header);
        Matcher o = ORDER.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !o.find() || !s.find()) throw new IllegalArgumentException(name + ": bad header " + header);
        if (o.group(1).equals("True")) throw new IllegalArgumentException(name + ": Fortran order not supported");
        String descr = d.group(1).replace('|', '<');
        long[] shape = Arrays.stream(s.group(1).split(","))
                .map(String::trim).filter(t -> !t.isEmpty()).mapToLong(Long::parseLong).toArray();
        return new Array(descr, shape, buf.slice().order(ByteOrder.LITTLE_ENDIAN));
    }

    /** Serialises a float32 array with the given shape. */
    public static byte[] writeFloats(float[] values, long[] shape) {
        ByteBuffer data = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        data.asFloatBuffer().put(values);
        return write("<f4", shape, data.array());
    }

    public static byte[] write(String descr, long[] shape, byte[] data) {
        StringBuilder shapeText = new StringBuilder();
        for (long dim : shape) shapeText.append(dim).append(", ");
        if (shape.length > 1) shapeText.setLength(shapeText.length() - 2);
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shapeText + "), }";
        // Header padded with spaces so that the data starts on a 64-byte boundary, as numpy writes it.
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int padding = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(padding) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream(unpadded + padding + data.length);
        out.writeBytes(MAGIC);
        out.write(1);
        out.write(0);
        out.write(header.length() & 0xff);
        out.write(header.length() >>> 8);
        out.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        return out.toByteArray();
    }
}
