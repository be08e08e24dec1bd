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
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
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
 * gets a warning from {@link PromptEncoder}. The table is read from the model file (inline or external data).
 *
 * <p>The patch owns the replacement tensor, which must outlive every session created with it.
 */
public final class TokenEmbeddingPatch implements AutoCloseable {
    private static final String TABLE_SUFFIX = "token_embedding.weight";

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
        OnnxInitializers.FloatTensor table = OnnxInitializers.findBySuffix(onnx, List.of(TABLE_SUFFIX)).get(TABLE_SUFFIX);
        if (table == null) throw new IllegalArgumentException(onnx + " has no initializer named *" + TABLE_SUFFIX);
        if (table.dims().length != 2) {
            throw new IllegalArgumentException(onnx + ": " + table.name() + " has shape " + Arrays.toString(table.dims())
                    + ", expected [vocab, hidden]");
        }
        return new Table(table.name(), (int) table.dims()[0], (int) table.dims()[1], table.values());
    }
}
