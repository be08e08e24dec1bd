package dev.sdmesh.textencoder.embedding;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reader for the {@code .safetensors} format: an unsigned 64-bit little-endian header length, a JSON header
 * mapping each tensor name to {@code dtype}, {@code shape} and {@code data_offsets} (relative to the end of the
 * header), then the raw little-endian data. Floating-point tensors are widened to float32.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The reference implementation refuses headers over 100 MB; so do we, before allocating. */
    private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** One tensor: its stored dtype ({@code F32}, {@code F16}, {@code BF16}, {@code F64}), shape and values. */
    public record Tensor(String dtype, long[] shape, float[] data) {
        public long elementCount() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }
    }

    private SafeTensors() {
    }

    /** Every tensor of the file, in header order ({@code __metadata__} is skipped). */
    public static Map<String, Tensor> read(Path file) throws IOException {
        return parse(Files.readAllBytes(file), file.toString());
    }

    /** Parses an in-memory safetensors file; {@code source} names it in error messages. */
    public static Map<String, Tensor> parse(byte[] bytes, String source) {
        if (bytes.length < 8) throw new IllegalArgumentException(source + ": too short for a safetensors file");
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = buffer.getLong(0);
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > bytes.length - 8) {
            throw new IllegalArgumentException(source + ": invalid safetensors header length " + Long.toUnsignedString(headerLength));
        }
        int dataStart = 8 + (int) headerLength;
        JsonNode header;
        try {
            header = JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalArgumentException(source + ": safetensors header is not valid JSON", e);
        }
        if (header == null || !header.isObject()) throw new IllegalArgumentException(source + ": safetensors header is not a JSON object");

        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            if (entry.getKey().equals("__metadata__")) continue;
            tensors.put(entry.getKey(), readTensor(entry.getKey(), entry.getValue(), buffer, dataStart, source));
        }
        return tensors;
    }

    private static Tensor readTensor(String name, JsonNode info, ByteBuffer buffer, int dataStart, String source) {
        String dtype = info.path("dtype").asText();
        JsonNode shapeNode = info.path("shape");
        JsonNode offsets = info.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new IllegalArgumentException(source + ": tensor '" + name + "' lacks shape or data_offsets");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong(-1);
            if (shape[i] < 0) throw new IllegalArgumentException(source + ": tensor '" + name + "' has a negative dimension");
        }
        int width = switch (dtype) {
            case "F64" -> 8;
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> throw new IllegalArgumentException(source + ": tensor '" + name + "' has unsupported dtype " + dtype);
        };
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        Tensor shell = new Tensor(dtype, shape, null);
        long count = shell.elementCount();
        if (begin < 0 || end < begin || dataStart + end > buffer.capacity() || end - begin != count * width
                || count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(source + ": tensor '" + name + "' has data_offsets [" + begin + ", " + end
                    + "] inconsistent with " + dtype + " " + Arrays.toString(shape) + " or the file size");
        }
        float[] data = new float[(int) count];
        int base = dataStart + (int) begin;
        for (int i = 0; i < data.length; i++) {
            int at = base + i * width;
            data[i] = switch (dtype) {
                case "F64" -> (float) buffer.getDouble(at);
                case "F32" -> buffer.getFloat(at);
                case "F16" -> halfToFloat(buffer.getShort(at));
                default -> Float.intBitsToFloat((buffer.getShort(at) & 0xFFFF) << 16);
            };
        }
        return new Tensor(dtype, shape, data);
    }

    /** IEEE 754 binary16 to float32, subnormals, infinities and NaN included. */
    static float halfToFloat(short half) {
        int bits = half & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exponent == 0x1F) return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        if (exponent == 0) {
            float magnitude = mantissa * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }
}
