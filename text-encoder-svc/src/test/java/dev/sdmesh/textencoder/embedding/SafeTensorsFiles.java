package dev.sdmesh.textencoder.embedding;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Writes small float32 .safetensors files for tests, following the format's specification. */
public final class SafeTensorsFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensorsFiles() {
    }

    /** One F32 tensor per entry: name → (shape, values). */
    public static byte[] f32(Map<String, Map.Entry<long[], float[]>> tensors) {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (var e : tensors.entrySet()) {
            float[] values = e.getValue().getValue();
            ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            buffer.asFloatBuffer().put(values);
            ObjectNode info = header.putObject(e.getKey());
            info.put("dtype", "F32");
            var shape = info.putArray("shape");
            for (long d : e.getValue().getKey()) shape.add(d);
            info.putArray("data_offsets").add(data.size()).add(data.size() + values.length * 4L);
            data.writeBytes(buffer.array());
        }
        return assemble(header.toString(), data.toByteArray());
    }

    /** A file with the given header JSON and data, the header padded with spaces to 8 bytes as writers do. */
    public static byte[] assemble(String headerJson, byte[] data) {
        StringBuilder header = new StringBuilder(headerJson);
        while (header.length() % 8 != 0) header.append(' ');
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(h.length).put(h).put(data);
        return out.array();
    }

    public static Path write(Path file, byte[] bytes) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.write(file, bytes);
    }

    /** Deterministic test vectors {@code [n][hidden]} flattened. */
    public static float[] vectors(int n, int hidden, float scale) {
        float[] out = new float[n * hidden];
        for (int i = 0; i < out.length; i++) out[i] = scale * (float) Math.sin(i + 1);
        return out;
    }
}
