package dev.sdmesh.textencoder.pipeline;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.sdmesh.textencoder.embedding.TextualInversionLibrary;
import dev.sdmesh.textencoder.prompt.PromptChunker;
import dev.sdmesh.textencoder.prompt.PromptChunker.Chunk;
import dev.sdmesh.textencoder.prompt.PromptChunker.ChunkedPrompt;
import dev.sdmesh.textencoder.prompt.PromptChunker.Mode;
import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Prompt → CLIP text-encoder hidden states, as diffusers' {@code encode_prompt} ({@link Mode#NONE}) or as
 * AUTOMATIC1111's {@code FrozenCLIPEmbedderWithCustomWords} ({@link Mode#A1111}: 75-token chunks concatenated
 * along the sequence axis, per-token weights with the "original" emphasis).
 *
 * <p>All rows (every chunk of every cond and uncond prompt, of one or several requests) go through the ONNX
 * session in a single run.
 *
 * <p>Textual inversion: the ONNX text encoder takes only {@code input_ids}, so an embedding's vectors reach the
 * graph through a {@link TokenEmbeddingPatch} that the session was created with (its rows for reserved ids hold
 * the vectors). Without a patch, or for an embedding the patch does not cover, the prompt is encoded with the
 * embedding's name as plain text and the result carries a warning.
 */
public final class PromptEncoder {
    private static final String INPUT_IDS = "input_ids";
    private static final String LAST_HIDDEN_STATE = "last_hidden_state";
    private static final String POOLER_OUTPUT = "pooler_output";
    /** Optimum names per-layer outputs {@code hidden_states.0} (embeddings) .. {@code hidden_states.L}. */
    private static final Pattern HIDDEN_STATES = Pattern.compile("hidden_states[._](\\d+)");

    /**
     * What to encode.
     *
     * @param prompts         the prompts of the batch (at least one)
     * @param negativePrompts one per prompt, or null for {@code ""} each (diffusers' default uncond)
     * @param guidance        whether to encode the uncond side (diffusers: {@code guidance_scale > 1})
     * @param mode            diffusers-literal or A1111 syntax and chunking
     * @param clipSkip        A1111's CLIP_stop_at_last_layers: 1 = last layer, N = {@code final_layer_norm} of the
     *                        hidden state N layers from the end (diffusers' {@code clip_skip} N - 1)
     */
    public record Request(List<String> prompts, List<String> negativePrompts, boolean guidance, Mode mode, int clipSkip) {
    }

    /**
     * Hidden states as float32 {@code [batch, sequenceLength, hiddenSize]} in C order ({@code uncond} is null
     * without guidance), the pooled outputs {@code [batch, hiddenSize]} of the first chunk where the export has
     * {@code pooler_output} (else null), each prompt's token count, and what the caller should tell the user.
     */
    public record Encoded(float[] cond, float[] uncond, float[] pooledCond, float[] pooledUncond,
                          int batch, int sequenceLength, int hiddenSize,
                          int[] condTokenCounts, int[] uncondTokenCounts, List<String> warnings) {
    }

    private final OrtSession session;
    private final ClipTokenizer tokenizer;
    private final PromptChunker chunker;
    private final PromptChunker plainChunker;
    private final TokenEmbeddingPatch patch;
    private final OnnxJavaType idType;
    private final List<String> hiddenStateOutputs;
    private final FinalLayerNorm finalLayerNorm;

    /**
     * An encoder without textual-inversion vectors (names of {@code embeddings} are reported, not applied) and
     * without clip skip.
     */
    public PromptEncoder(OrtSession session, ClipTokenizer tokenizer, TextualInversionLibrary embeddings) throws OrtException {
        this(session, tokenizer, embeddings, null, null);
    }

    /**
     * @param embeddings     textual inversions to recognise, or null for none
     * @param patch          the token-embedding patch {@code session} was created with ({@link TokenEmbeddingPatch#addTo}),
     *                       or null when it was created without one
     * @param finalLayerNorm the text model's final LayerNorm ({@link FinalLayerNorm#read}), which clip skip applies to
     *                       the chosen hidden state; null rejects clip skip above 1
     * @throws IllegalArgumentException if the session has no integer {@code input_ids} input or no
     *                                  {@code last_hidden_state} output
     */
    public PromptEncoder(OrtSession session, ClipTokenizer tokenizer, TextualInversionLibrary embeddings,
                         TokenEmbeddingPatch patch, FinalLayerNorm finalLayerNorm) throws OrtException {
        this.session = session;
        this.patch = patch;
        this.finalLayerNorm = finalLayerNorm;
        this.tokenizer = tokenizer;
        this.chunker = new PromptChunker(tokenizer, embeddings == null ? TextualInversionLibrary.empty() : embeddings);
        this.plainChunker = new PromptChunker(tokenizer, TextualInversionLibrary.empty());
        this.idType = inputIdsType(session);
        if (!session.getOutputNames().contains(LAST_HIDDEN_STATE)) {
            throw new IllegalArgumentException("text encoder has no '" + LAST_HIDDEN_STATE + "' output; outputs: " + session.getOutputNames());
        }
        this.hiddenStateOutputs = hiddenStateOutputs(session.getOutputNames());
    }

    private static OnnxJavaType inputIdsType(OrtSession session) throws OrtException {
        NodeInfo info = session.getInputInfo().get(INPUT_IDS);
        if (info == null || !(info.getInfo() instanceof TensorInfo tensor)) {
            throw new IllegalArgumentException("text encoder has no tensor input '" + INPUT_IDS + "'; inputs: " + session.getInputNames());
        }
        if (tensor.type != OnnxJavaType.INT32 && tensor.type != OnnxJavaType.INT64) {
            throw new IllegalArgumentException("text encoder input '" + INPUT_IDS + "' is " + tensor.type + ", expected int32 or int64");
        }
        return tensor.type;
    }

    /** The per-layer outputs in layer order, or an empty list when the export has none. */
    private static List<String> hiddenStateOutputs(Set<String> outputs) {
        TreeMap<Integer, String> byLayer = new TreeMap<>();
        for (String name : outputs) {
            Matcher m = HIDDEN_STATES.matcher(name);
            if (m.matches()) byLayer.put(Integer.parseInt(m.group(1)), name);
        }
        return List.copyOf(byLayer.values());
    }

    public Encoded encode(Request request) throws OrtException {
        return encodeAll(List.of(request)).get(0);
    }

    /**
     * Encodes several independent requests with one ONNX run (for a server that merges concurrent calls). Each
     * request is treated exactly as by {@link #encode}: its own chunk count, emphasis and warnings.
     *
     * @throws IllegalArgumentException if any request is invalid (nothing is run then)
     */
    public List<Encoded> encodeAll(List<Request> requests) throws OrtException {
        List<Plan> plans = new ArrayList<>(requests.size());
        Set<String> wanted = new LinkedHashSet<>();
        int firstRow = 0;
        for (Request request : requests) {
            Plan plan = plan(request, firstRow);
            plans.add(plan);
            wanted.add(plan.hiddenOutput());
            firstRow += plan.rows().size() * plan.chunks();
        }
        boolean hasPooled = session.getOutputNames().contains(POOLER_OUTPUT);
        if (hasPooled) wanted.add(POOLER_OUTPUT);
        int totalRows = firstRow;
        int length = tokenizer.maxLength();

        Map<String, float[][]> outputs = new HashMap<>();
        int hidden;
        try (OnnxTensor ids = idsTensor(plans, totalRows, length);
             OrtSession.Result result = session.run(Map.of(INPUT_IDS, ids), wanted)) {
            FloatBuffer last = floats(result, plans.get(0).hiddenOutput());
            hidden = last.remaining() / (totalRows * length);
            for (String name : wanted) {
                outputs.put(name, split(floats(result, name), totalRows, name.equals(POOLER_OUTPUT) ? hidden : length * hidden));
            }
        }
        List<Encoded> encoded = new ArrayList<>(plans.size());
        for (Plan plan : plans) encoded.add(finish(plan, outputs, hidden));
        return encoded;
    }

    /** One request's prompts as rows of the shared run: prompt-major, chunk-minor, starting at {@code firstRow}. */
    private record Plan(Request request, List<ChunkedPrompt> chunked, List<List<Chunk>> rows, int chunks,
                        String hiddenOutput, int firstRow, List<String> warnings) {
    }

    private Plan plan(Request request, int firstRow) {
        validate(request);
        List<String> warnings = new ArrayList<>();
        int batch = request.prompts().size();
        List<String> texts = new ArrayList<>(request.prompts());
        if (request.guidance()) {
            texts.addAll(request.negativePrompts() != null ? request.negativePrompts() : Collections.nCopies(batch, ""));
        }
        List<ChunkedPrompt> chunked = chunkAll(texts, request.mode(), warnings);
        // A1111 pads the prompts of a batch, and cond against uncond, to one chunk count.
        List<List<Chunk>> rows = chunker.padToSameCount(chunked);
        String hiddenOutput = hiddenOutputFor(request.clipSkip());
        return new Plan(request, chunked, rows, rows.get(0).size(), hiddenOutput, firstRow, warnings);
    }

    private Encoded finish(Plan plan, Map<String, float[][]> outputs, int hidden) {
        Request request = plan.request();
        int batch = request.prompts().size();
        int chunks = plan.chunks();
        int length = tokenizer.maxLength();
        int rowCount = plan.rows().size() * chunks;
        float[][] perRow = copyRows(outputs.get(plan.hiddenOutput()), plan.firstRow(), rowCount);
        if (!plan.hiddenOutput().equals(LAST_HIDDEN_STATE)) {
            if (finalLayerNorm.width() != hidden) {
                throw new IllegalStateException("the final LayerNorm has width " + finalLayerNorm.width()
                        + ", the text encoder's hidden states " + hidden);
            }
            for (float[] row : perRow) finalLayerNorm.applyInPlace(row);
        }
        if (request.mode() == Mode.A1111) {
            applyEmphasis(perRow, plan.rows(), 0, batch, chunks, length, hidden);
            if (request.guidance()) applyEmphasis(perRow, plan.rows(), batch, batch, chunks, length, hidden);
        }
        float[][] pooled = outputs.containsKey(POOLER_OUTPUT) ? copyRows(outputs.get(POOLER_OUTPUT), plan.firstRow(), rowCount) : null;
        int[] tokenCounts = plan.chunked().stream().mapToInt(ChunkedPrompt::tokenCount).toArray();
        return new Encoded(
                concatenate(perRow, 0, batch, chunks, length * hidden),
                request.guidance() ? concatenate(perRow, batch, batch, chunks, length * hidden) : null,
                pooled == null ? null : firstChunks(pooled, 0, batch, chunks, hidden),
                pooled == null || !request.guidance() ? null : firstChunks(pooled, batch, batch, chunks, hidden),
                batch, chunks * length, hidden,
                Arrays.copyOfRange(tokenCounts, 0, batch),
                request.guidance() ? Arrays.copyOfRange(tokenCounts, batch, 2 * batch) : null,
                List.copyOf(plan.warnings()));
    }

    /** A request's own copy of its rows, since emphasis rescales them in place. */
    private static float[][] copyRows(float[][] all, int from, int count) {
        float[][] out = new float[count][];
        for (int i = 0; i < count; i++) out[i] = all[from + i].clone();
        return out;
    }

    private static void validate(Request request) {
        if (request == null || request.prompts() == null || request.prompts().isEmpty()) {
            throw new IllegalArgumentException("at least one prompt is required");
        }
        if (request.prompts().stream().anyMatch(Objects::isNull)) throw new IllegalArgumentException("prompts must not contain null");
        if (request.negativePrompts() != null) {
            if (request.negativePrompts().size() != request.prompts().size()) {
                throw new IllegalArgumentException(request.negativePrompts().size() + " negative prompts for "
                        + request.prompts().size() + " prompts; give one per prompt or none");
            }
            if (request.negativePrompts().stream().anyMatch(Objects::isNull)) throw new IllegalArgumentException("negative prompts must not contain null");
        }
        if (request.mode() == null) throw new IllegalArgumentException("mode is required");
        if (request.clipSkip() < 1) throw new IllegalArgumentException("clip_skip must be >= 1, got " + request.clipSkip());
    }

    private List<ChunkedPrompt> chunkAll(List<String> texts, Mode mode, List<String> warnings) {
        List<ChunkedPrompt> out = new ArrayList<>(texts.size());
        int limit = tokenizer.maxLength() - 2;
        for (String text : texts) {
            ChunkedPrompt prompt = chunker.chunk(text, mode);
            Set<String> missing = new LinkedHashSet<>();
            prompt.chunks().forEach(c -> c.fixes().forEach(f -> {
                if (patch == null || patch.idsFor(f.embedding()) == null) missing.add(f.embedding().name());
            }));
            if (!missing.isEmpty()) {
                warnings.add("textual inversion " + missing + " not applied: the text encoder session was created without"
                        + " a token-embedding patch for it; the name was encoded as text");
                prompt = plainChunker.chunk(text, mode);
            }
            if (patch != null) prompt = withEmbeddingIds(prompt, text, warnings);
            if (mode == Mode.NONE && prompt.tokenCount() > limit) {
                warnings.add("prompt truncated to " + limit + " tokens (it has " + prompt.tokenCount() + "): \"" + text + "\"");
            }
            out.add(prompt);
        }
        return out;
    }

    /** Puts the patch's ids at the embeddings' positions; warns when the text itself uses a reserved id. */
    private ChunkedPrompt withEmbeddingIds(ChunkedPrompt prompt, String text, List<String> warnings) {
        List<Chunk> chunks = new ArrayList<>(prompt.chunks().size());
        for (Chunk chunk : prompt.chunks()) {
            int[] tokens = chunk.tokens().clone();
            boolean[] fixed = new boolean[tokens.length];
            for (PromptChunker.EmbeddingFix fix : chunk.fixes()) {
                int[] ids = patch.idsFor(fix.embedding());
                System.arraycopy(ids, 0, tokens, fix.offset(), ids.length);
                Arrays.fill(fixed, fix.offset(), fix.offset() + ids.length, true);
            }
            Set<Integer> shadowed = new TreeSet<>();
            for (int i = 0; i < tokens.length; i++) {
                if (!fixed[i] && patch.reservedIds().contains(tokens[i])) shadowed.add(tokens[i]);
            }
            if (!shadowed.isEmpty()) {
                warnings.add("token ids " + shadowed + " in \"" + text + "\" are reserved for textual inversion vectors;"
                        + " they do not encode as their text");
            }
            chunks.add(new Chunk(tokens, chunk.multipliers(), chunk.fixes()));
        }
        return new ChunkedPrompt(List.copyOf(chunks), prompt.tokenCount());
    }

    /**
     * The output for A1111's clip skip: {@code last_hidden_state}, or {@code hidden_states[-N]}, which
     * {@link #finish} passes through the final LayerNorm.
     */
    private String hiddenOutputFor(int clipSkip) {
        if (clipSkip == 1) return LAST_HIDDEN_STATE;
        if (hiddenStateOutputs.isEmpty()) {
            throw new IllegalArgumentException("clip_skip " + clipSkip + " needs per-layer hidden-state outputs"
                    + " (hidden_states.N), which this text encoder export does not have; use clip_skip 1 or re-export with"
                    + " output_hidden_states");
        }
        int index = hiddenStateOutputs.size() - clipSkip;
        if (index < 1) {
            throw new IllegalArgumentException("clip_skip " + clipSkip + " exceeds the text encoder's "
                    + (hiddenStateOutputs.size() - 1) + " layers");
        }
        if (finalLayerNorm == null) {
            throw new IllegalArgumentException("clip_skip " + clipSkip + " needs the text encoder's final LayerNorm"
                    + " (initializers *" + FinalLayerNorm.WEIGHT_SUFFIX + " and *" + FinalLayerNorm.BIAS_SUFFIX
                    + "), which this text encoder export does not have; use clip_skip 1");
        }
        return hiddenStateOutputs.get(index);
    }

    /** The {@code input_ids} of every plan's rows, in the session's declared integer type. */
    private OnnxTensor idsTensor(List<Plan> plans, int totalRows, int length) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {totalRows, length};
        List<int[]> rows = new ArrayList<>(totalRows);
        plans.forEach(plan -> plan.rows().forEach(prompt -> prompt.forEach(chunk -> rows.add(chunk.tokens()))));
        if (idType == OnnxJavaType.INT32) {
            IntBuffer ids = IntBuffer.allocate(totalRows * length);
            rows.forEach(ids::put);
            return OnnxTensor.createTensor(env, ids.flip(), shape);
        }
        LongBuffer ids = LongBuffer.allocate(totalRows * length);
        rows.forEach(row -> {
            for (int id : row) ids.put(id);
        });
        return OnnxTensor.createTensor(env, ids.flip(), shape);
    }

    private static FloatBuffer floats(OrtSession.Result result, String name) {
        OnnxValue value = result.get(name).orElseThrow(() -> new IllegalStateException("text encoder returned no " + name));
        if (!(value instanceof OnnxTensor tensor) || tensor.getInfo().type != OnnxJavaType.FLOAT) {
            throw new IllegalStateException("text encoder output " + name + " is not a float32 tensor");
        }
        return tensor.getFloatBuffer();
    }

    private static float[][] split(FloatBuffer data, int rows, int rowSize) {
        if (data.remaining() != (long) rows * rowSize) {
            throw new IllegalStateException("text encoder output has " + data.remaining() + " values, expected " + rows + " x " + rowSize);
        }
        float[][] out = new float[rows][rowSize];
        for (float[] row : out) data.get(row);
        return out;
    }

    /**
     * A1111's "original" emphasis on one side (cond or uncond) of the batch, one chunk index at a time: multiply
     * every token's hidden state by its weight, then scale the [batch, 77, hidden] tensor back to its former mean.
     */
    private static void applyEmphasis(float[][] perRow, List<List<Chunk>> rows, int firstPrompt, int batch,
                                      int chunks, int length, int hidden) {
        for (int c = 0; c < chunks; c++) {
            double originalSum = 0, newSum = 0;
            for (int p = firstPrompt; p < firstPrompt + batch; p++) {
                float[] z = perRow[p * chunks + c];
                float[] multipliers = rows.get(p).get(c).multipliers();
                for (int t = 0; t < length; t++) {
                    for (int h = 0; h < hidden; h++) {
                        int i = t * hidden + h;
                        originalSum += z[i];
                        z[i] *= multipliers[t];
                        newSum += z[i];
                    }
                }
            }
            // The ratio of means equals the ratio of sums (same element count); float32 as torch computes it.
            float scale = (float) originalSum / (float) newSum;
            for (int p = firstPrompt; p < firstPrompt + batch; p++) {
                float[] z = perRow[p * chunks + c];
                for (int i = 0; i < z.length; i++) z[i] *= scale;
            }
        }
    }

    /** {@code torch.hstack} of each prompt's chunks: [batch, chunks*length, hidden]. */
    private static float[] concatenate(float[][] perRow, int firstPrompt, int batch, int chunks, int rowSize) {
        float[] out = new float[batch * chunks * rowSize];
        for (int p = 0; p < batch; p++) {
            for (int c = 0; c < chunks; c++) {
                System.arraycopy(perRow[(firstPrompt + p) * chunks + c], 0, out, (p * chunks + c) * rowSize, rowSize);
            }
        }
        return out;
    }

    private static float[] firstChunks(float[][] pooledPerRow, int firstPrompt, int batch, int chunks, int hidden) {
        float[] out = new float[batch * hidden];
        for (int p = 0; p < batch; p++) System.arraycopy(pooledPerRow[(firstPrompt + p) * chunks], 0, out, p * hidden, hidden);
        return out;
    }
}
