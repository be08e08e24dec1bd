package dev.sdmesh.textencoder.pipeline;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.textencoder.embedding.TextualInversionLibrary;
import dev.sdmesh.textencoder.embedding.TextualInversionLibrary.Embedding;
import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Textual inversion for an ONNX CLIP text encoder without changing its graph: the token-embedding initializer is
 * replaced, through {@link OrtSession.SessionOptions#addInitializer}, by a copy in which the rows of some reserved
 * token ids hold the embeddings' vectors; prompts then address those vectors by the reserved ids.
 *
 * <p>Why reserved rows rather than new ones (as A1111 and diffusers add): ONNX Runtime keeps the graph's declared
 * table shape, so a larger table is rejected at run time ("indices element out of data bounds"). The reserved ids
 * are the highest ordinary ids (just below BOS/EOS), the rarest BPE merges; a prompt that uses one of them as text
 * gets a warning from {@link PromptEncoder}. The table is read from the model file (inline data only; a model with
 * external data files is rejected with a clear message).
 *
 * <p>The patch owns the replacement tensor, which must outlive every session created with it.
 */
public final class TokenEmbeddingPatch implements AutoCloseable {
    private static final String TABLE_SUFFIX = "token_embedding.weight";
    private static final int ONNX_FLOAT = 1;
    private static final int DATA_LOCATION_EXTERNAL = 1;

    /** The graph's token-embedding table: {@code weights[vocab*hidden]} as stored under {@code name}. */
    public record Table(String name, int vocab, int hidden, float[] weights) {
        public float[] row(int id) {
            float[] out = new float[hidden];
            System.arraycopy(weights, id * hidden, out, 0, hidden);
            return out;
        }
    }

    private final String initializerName;
    private final OnnxTensor table;
    private final Map<String, int[]> idsByEmbedding;
    private final Set<Integer> reservedIds;

    private TokenEmbeddingPatch(String initializerName, OnnxTensor table, Map<String, int[]> idsByEmbedding, Set<Integer> reservedIds) {
        this.initializerName = initializerName;
        this.table = table;
        this.idsByEmbedding = Map.copyOf(idsByEmbedding);
        this.reservedIds = Set.copyOf(reservedIds);
    }

    /**
     * Builds the patched table for every embedding of {@code library}.
     *
     * @throws IllegalArgumentException when the model has no inline float token-embedding table, the widths differ,
     *                                  or the embeddings need more rows than there are ids below BOS/EOS
     */
    public static TokenEmbeddingPatch create(Path textEncoderOnnx, TextualInversionLibrary library, ClipTokenizer tokenizer)
            throws IOException, OrtException {
        Table original = readTable(textEncoderOnnx);
        int hidden = original.hidden();
        // A direct buffer is handed to ONNX Runtime without another copy of the (for SD 1.x, 150 MB) table.
        FloatBuffer weights = ByteBuffer.allocateDirect(original.weights().length * Float.BYTES)
                .order(ByteOrder.nativeOrder()).asFloatBuffer();
        weights.put(original.weights());
        Map<String, int[]> idsByEmbedding = new HashMap<>();
        Set<Integer> reserved = new LinkedHashSet<>();
        int next = Math.min(tokenizer.bos(), tokenizer.eos()) - 1;
        for (Embedding e : library.embeddings()) {
            if (e.hiddenSize() != hidden) {
                throw new IllegalArgumentException("textual inversion '" + e.name() + "' has width " + e.hiddenSize()
                        + ", the text encoder " + hidden);
            }
            int[] ids = new int[e.vectorCount()];
            for (int v = 0; v < ids.length; v++) {
                if (next < 0) throw new IllegalArgumentException("textual inversions need more rows than the vocabulary has");
                ids[v] = next--;
                reserved.add(ids[v]);
                weights.put(ids[v] * hidden, e.vectors()[v]);
            }
            idsByEmbedding.put(e.name(), ids);
        }
        OnnxTensor tensor = OnnxTensor.createTensor(OrtEnvironment.getEnvironment(), weights.rewind(),
                new long[]{original.vocab(), hidden});
        return new TokenEmbeddingPatch(original.name(), tensor, idsByEmbedding, reserved);
    }

    /** Registers the patched table on options used to create the text-encoder session. */
    public void addTo(OrtSession.SessionOptions options) throws OrtException {
        options.addInitializer(initializerName, table);
    }

    /** The ids standing for an embedding's vectors, or null when the patch does not cover it. */
    public int[] idsFor(Embedding embedding) {
        return idsByEmbedding.get(embedding.name());
    }

    public Set<Integer> reservedIds() {
        return reservedIds;
    }

    @Override
    public void close() {
        table.close();
    }

    /** Reads the token-embedding table (the float initializer named {@code *token_embedding.weight}) of an ONNX model. */
    public static Table readTable(Path onnx) throws IOException {
        ByteBuffer model;
        try (FileChannel channel = FileChannel.open(onnx, StandardOpenOption.READ)) {
            if (channel.size() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(onnx + " is over 2 GiB; only inline ONNX models are supported");
            }
            model = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()).order(ByteOrder.LITTLE_ENDIAN);
        }
        Wire modelProto = new Wire(model);
        while (modelProto.next()) {
            if (modelProto.field == 7 && modelProto.wireType == 2) { // ModelProto.graph
                Wire graph = new Wire(modelProto.bytes());
                while (graph.next()) {
                    if (graph.field == 5 && graph.wireType == 2) { // GraphProto.initializer
                        Table table = tableIfTokenEmbedding(graph.bytes(), onnx);
                        if (table != null) return table;
                    } else {
                        graph.skip();
                    }
                }
            } else {
                modelProto.skip();
            }
        }
        throw new IllegalArgumentException(onnx + " has no initializer named *" + TABLE_SUFFIX);
    }

    /** Parses one TensorProto; null unless it is the token-embedding table. */
    private static Table tableIfTokenEmbedding(ByteBuffer tensorProto, Path onnx) {
        Wire tensor = new Wire(tensorProto);
        String name = null;
        long[] dims = new long[2];
        int rank = 0;
        int dataType = -1;
        int location = 0;
        ByteBuffer raw = null;
        ByteBuffer floatData = null;
        while (tensor.next()) {
            switch (tensor.field) {
                case 1 -> { // dims: packed or one varint per entry
                    if (tensor.wireType == 2) {
                        Wire packed = new Wire(tensor.bytes());
                        while (packed.buffer.hasRemaining()) {
                            long d = packed.varint();
                            if (rank < 2) dims[rank] = d;
                            rank++;
                        }
                    } else {
                        long d = tensor.varint();
                        if (rank < 2) dims[rank] = d;
                        rank++;
                    }
                }
                case 2 -> dataType = (int) tensor.varint();
                case 4 -> floatData = tensor.wireType == 2 ? tensor.bytes() : null;
                case 8 -> name = StandardCharsets.UTF_8.decode(tensor.bytes()).toString();
                case 9 -> raw = tensor.bytes();
                case 14 -> location = (int) tensor.varint();
                default -> tensor.skip();
            }
        }
        if (name == null || !name.endsWith(TABLE_SUFFIX)) return null;
        if (dataType != ONNX_FLOAT || rank != 2) {
            throw new IllegalArgumentException(onnx + ": " + name + " is not a 2-D float32 table");
        }
        if (location == DATA_LOCATION_EXTERNAL) {
            throw new IllegalArgumentException(onnx + ": " + name + " is stored in an external data file, which is not supported");
        }
        ByteBuffer data = raw != null ? raw : floatData;
        int count = Math.toIntExact(dims[0] * dims[1]);
        if (data == null || data.remaining() != count * 4) {
            throw new IllegalArgumentException(onnx + ": " + name + " has no inline data of " + count + " floats");
        }
        float[] weights = new float[count];
        data.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(weights);
        return new Table(name, (int) dims[0], (int) dims[1], weights);
    }

    /** A minimal protobuf wire-format reader: enough to walk ModelProto → GraphProto → TensorProto. */
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
