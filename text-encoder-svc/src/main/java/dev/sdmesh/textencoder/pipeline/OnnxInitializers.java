package dev.sdmesh.textencoder.pipeline;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads float32 initializers (weights) of an ONNX model file by walking its protobuf wire format: ModelProto →
 * GraphProto → TensorProto. Only the tensors asked for are decoded; their data may be inline ({@code raw_data} or
 * {@code float_data}) or in an external data file next to the model, as exporters write models over 2 GiB.
 *
 * <p>A weight is also found under a name that an {@code Identity} node gives it: torch.onnx.export keeps one copy of
 * identical parameters (e.g. the all-ones LayerNorm weights of a freshly initialised model) and names the others
 * through Identity nodes.
 */
final class OnnxInitializers {
    private static final int ONNX_FLOAT = 1;
    private static final int DATA_LOCATION_EXTERNAL = 1;

    /** One initializer: its own name (an Identity alias resolved), shape and values in C order. */
    record FloatTensor(String name, long[] dims, float[] values) {
    }

    private OnnxInitializers() {
    }

    /**
     * The float32 weights whose names (of an initializer, or of an Identity node's output that leads to one) end with
     * one of {@code suffixes}, keyed by suffix; a suffix that no name ends with is absent from the map.
     *
     * @throws IllegalArgumentException when two names end with the same suffix, a match is not a float32
     *                                  initializer, or its data is missing or of the wrong size
     */
    static Map<String, FloatTensor> findBySuffix(Path onnx, List<String> suffixes) throws IOException {
        Map<String, ByteBuffer> initializers = new LinkedHashMap<>();
        Map<String, String> identityInputs = new LinkedHashMap<>();
        Wire modelProto = new Wire(map(onnx));
        while (modelProto.next()) {
            if (modelProto.field == 7 && modelProto.wireType == 2) { // ModelProto.graph
                Wire graph = new Wire(modelProto.bytes());
                while (graph.next()) {
                    if (graph.field == 5 && graph.wireType == 2) { // GraphProto.initializer
                        ByteBuffer tensor = graph.bytes();
                        initializers.put(tensorName(tensor), tensor);
                    } else if (graph.field == 1 && graph.wireType == 2) { // GraphProto.node
                        addIfIdentity(graph.bytes(), identityInputs);
                    } else {
                        graph.skip();
                    }
                }
            } else {
                modelProto.skip();
            }
        }
        Map<String, FloatTensor> found = new HashMap<>();
        for (String suffix : suffixes) {
            Set<String> names = new LinkedHashSet<>();
            initializers.keySet().stream().filter(n -> n.endsWith(suffix)).forEach(names::add);
            identityInputs.keySet().stream().filter(n -> n.endsWith(suffix)).forEach(names::add);
            if (names.isEmpty()) continue;
            if (names.size() > 1) throw new IllegalArgumentException(onnx + ": " + names + " all end with " + suffix);
            String name = names.iterator().next();
            String source = name;
            for (int hops = 0; !initializers.containsKey(source) && identityInputs.containsKey(source) && hops < identityInputs.size(); hops++) {
                source = identityInputs.get(source);
            }
            ByteBuffer tensor = initializers.get(source);
            if (tensor == null) throw new IllegalArgumentException(onnx + ": " + name + " is computed in the graph, not an initializer");
            found.put(suffix, decode(tensor, source, onnx));
        }
        return found;
    }

    private static ByteBuffer map(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            if (channel.size() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(file + " is over 2 GiB; ONNX models that large keep their weights in external data files");
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private static String tensorName(ByteBuffer tensorProto) {
        Wire tensor = new Wire(tensorProto);
        String name = "";
        while (tensor.next()) {
            if (tensor.field == 8) name = utf8(tensor.bytes());
            else tensor.skip();
        }
        return name;
    }

    /** Records {@code output → input} of a NodeProto (input = 1, output = 2, op_type = 4) that is an Identity. */
    private static void addIfIdentity(ByteBuffer nodeProto, Map<String, String> identityInputs) {
        Wire node = new Wire(nodeProto);
        List<String> inputs = new ArrayList<>(1);
        List<String> outputs = new ArrayList<>(1);
        String opType = "";
        while (node.next()) {
            switch (node.field) {
                case 1 -> inputs.add(utf8(node.bytes()));
                case 2 -> outputs.add(utf8(node.bytes()));
                case 4 -> opType = utf8(node.bytes());
                default -> node.skip();
            }
        }
        if (opType.equals("Identity") && inputs.size() == 1 && outputs.size() == 1) identityInputs.put(outputs.get(0), inputs.get(0));
    }

    /** Decodes one float32 TensorProto, the initializer {@code name}. */
    private static FloatTensor decode(ByteBuffer tensorProto, String name, Path onnx) throws IOException {
        Wire tensor = new Wire(tensorProto);
        List<Long> dims = new ArrayList<>();
        int dataType = -1;
        int location = 0;
        ByteBuffer raw = null;
        ByteBuffer floatData = null;
        Map<String, String> external = new HashMap<>();
        while (tensor.next()) {
            switch (tensor.field) {
                case 1 -> { // dims: packed or one varint per entry
                    if (tensor.wireType == 2) {
                        Wire packed = new Wire(tensor.bytes());
                        while (packed.buffer.hasRemaining()) dims.add(packed.varint());
                    } else {
                        dims.add(tensor.varint());
                    }
                }
                case 2 -> dataType = (int) tensor.varint();
                case 4 -> floatData = tensor.wireType == 2 ? tensor.bytes() : null;
                case 9 -> raw = tensor.bytes();
                case 13 -> readEntry(tensor.bytes(), external);
                case 14 -> location = (int) tensor.varint();
                default -> tensor.skip();
            }
        }
        if (dataType != ONNX_FLOAT) {
            throw new IllegalArgumentException(onnx + ": " + name + " has ONNX data type " + dataType + ", expected float32 (1)");
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        int count = Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact));
        ByteBuffer data = location == DATA_LOCATION_EXTERNAL ? readExternal(onnx, name, external) : raw != null ? raw : floatData;
        if (data == null || data.remaining() != (long) count * Float.BYTES) {
            throw new IllegalArgumentException(onnx + ": " + name + " has no data of " + count + " float32 values");
        }
        float[] values = new float[count];
        data.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return new FloatTensor(name, shape, values);
    }

    /** A StringStringEntryProto (key = 1, value = 2) of TensorProto.external_data. */
    private static void readEntry(ByteBuffer entryProto, Map<String, String> into) {
        Wire entry = new Wire(entryProto);
        String key = null;
        String value = null;
        while (entry.next()) {
            switch (entry.field) {
                case 1 -> key = utf8(entry.bytes());
                case 2 -> value = utf8(entry.bytes());
                default -> entry.skip();
            }
        }
        if (key != null && value != null) into.put(key, value);
    }

    /** The bytes an external-data tensor points at: {@code location} relative to the model's folder, offset, length. */
    private static ByteBuffer readExternal(Path onnx, String name, Map<String, String> external) throws IOException {
        String location = external.get("location");
        if (location == null) throw new IllegalArgumentException(onnx + ": " + name + " is external but names no location");
        Path folder = onnx.toAbsolutePath().getParent();
        Path file = folder.resolve(location).normalize();
        if (!file.startsWith(folder)) {
            throw new IllegalArgumentException(onnx + ": " + name + " points outside the model's folder: " + location);
        }
        long offset = Long.parseLong(external.getOrDefault("offset", "0"));
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long length = external.containsKey("length") ? Long.parseLong(external.get("length")) : channel.size() - offset;
            if (offset < 0 || length < 0 || offset + length > channel.size() || length > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(onnx + ": " + name + " range [" + offset + ", +" + length + ") lies outside " + file);
            }
            ByteBuffer out = ByteBuffer.allocate((int) length);
            while (out.hasRemaining()) {
                if (channel.read(out, offset + out.position()) < 0) break;
            }
            return out.flip();
        }
    }

    private static String utf8(ByteBuffer bytes) {
        return StandardCharsets.UTF_8.decode(bytes).toString();
    }

    /** A minimal protobuf wire-format reader. */
    private static final class Wire {
        final ByteBuffer buffer;
        int field;
        int wireType;

        Wire(ByteBuffer buffer) {
            this.buffer = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
        }

        boolean next() {
            if (!buffer.hasRemaining()) return false;
            long tag = varint();
            field = (int) (tag >>> 3);
            wireType = (int) (tag & 7);
            return true;
        }

        long varint() {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                byte b = buffer.get();
                value |= (long) (b & 0x7F) << shift;
                if (b >= 0) return value;
            }
            throw new IllegalArgumentException("malformed protobuf varint");
        }

        ByteBuffer bytes() {
            int length = Math.toIntExact(varint());
            ByteBuffer out = buffer.slice().limit(length);
            buffer.position(buffer.position() + length);
            return out;
        }

        void skip() {
            switch (wireType) {
                case 0 -> varint();
                case 1 -> buffer.position(buffer.position() + 8);
                case 2 -> bytes();
                case 5 -> buffer.position(buffer.position() + 4);
                default -> throw new IllegalArgumentException("unsupported protobuf wire type " + wireType);
            }
        }
    }
}
