package dev.sdmesh.models;

import dev.sdmesh.models.onnx.TensorProto;

import java.util.List;

import static dev.sdmesh.models.OnnxGraphBuilder.attr;

/**
 * transformers CLIPTextModel with Optimum's outputs: {@code last_hidden_state}, {@code pooler_output} (the final
 * hidden state at argmax(input_ids), the legacy SD 1.x eos rule) and {@code hidden_states.0..L} (embeddings, then
 * each layer's output before the final LayerNorm), which clip-skip reads.
 */
final class ClipTextModelGraph {
    private static final float LAYER_NORM_EPS = 1e-5f;

    private ClipTextModelGraph() {
    }

    static void build(OnnxGraphBuilder b, ModelConfigs.ClipText c, int vocabSize) {
        int dtype = b.precision().onnxType();
        long hidden = c.hiddenSize();
        int layers = c.numHiddenLayers();
        long positions = c.maxPositionEmbeddings();
        String ids = b.input("input_ids", TensorProto.DataType.INT32_VALUE, "batch_size", "sequence_length");

        // transformers' CLIPPreTrainedModel._init_weights (initializer_factor 1).
        WeightInit embeddingInit = WeightInit.withStd(0.02);
        WeightInit inProjInit = WeightInit.withStd(Math.pow(hidden, -0.5) * Math.pow(2.0 * layers, -0.5));
        WeightInit outProjInit = WeightInit.withStd(Math.pow(hidden, -0.5));
        WeightInit fc1Init = WeightInit.withStd(Math.pow(2.0 * hidden, -0.5));

        String prefix = "text_model.";
        String tokens = b.op("Gather", List.of(
                b.param(prefix + "embeddings.token_embedding.weight", embeddingInit, vocabSize, hidden), ids),
                attr("axis", 0L));
        String seqLen = b.op("Gather", List.of(b.op("Shape", List.of(ids)), b.ints(1)), attr("axis", 0L));
        String positionEmbeds = b.op("Slice", List.of(
                b.param(prefix + "embeddings.position_embedding.weight", embeddingInit, positions, hidden),
                b.ints(0), seqLen, b.ints(0)));
        String h = b.add(tokens, positionEmbeds);

        String mask = b.op("Slice", List.of(causalMask(b, positions), b.ints(0, 0), b.concat(0, seqLen, seqLen),
                b.ints(0, 1)));
        long headDim = hidden / c.numAttentionHeads();
        Object[] tokenDims = {"batch_size", "sequence_length", hidden};
        b.output(h, "hidden_states.0", dtype, tokenDims);
        for (int l = 0; l < layers; l++) {
            String layer = prefix + "encoder.layers." + l;
            String n = b.layerNorm(layer + ".layer_norm1", h, hidden, LAYER_NORM_EPS);
            String q = linear(b, layer + ".self_attn.q_proj", n, hidden, hidden, inProjInit);
            String k = linear(b, layer + ".self_attn.k_proj", n, hidden, hidden, inProjInit);
            String v = linear(b, layer + ".self_attn.v_proj", n, hidden, hidden, inProjInit);
            String a = b.attention(q, k, v, c.numAttentionHeads(), headDim, mask, false);
            h = b.add(h, linear(b, layer + ".self_attn.out_proj", a, hidden, hidden, outProjInit));

            n = b.layerNorm(layer + ".layer_norm2", h, hidden, LAYER_NORM_EPS);
            String m = linear(b, layer + ".mlp.fc1", n, hidden, c.intermediateSize(), fc1Init);
            m = "quick_gelu".equals(c.hiddenAct()) ? b.quickGelu(m) : b.gelu(m);
            h = b.add(h, linear(b, layer + ".mlp.fc2", m, c.intermediateSize(), hidden, inProjInit));
            b.output(h, "hidden_states." + (l + 1), dtype, tokenDims);
        }
        String last = b.layerNorm(prefix + "final_layer_norm", h, hidden, LAYER_NORM_EPS);
        b.output(last, "last_hidden_state", dtype, tokenDims);

        String eos = b.op("ArgMax", List.of(ids), attr("axis", -1L), attr("keepdims", 1L));
        String pooled = b.op("GatherND", List.of(last, eos), attr("batch_dims", 1L));
        b.output(pooled, "pooler_output", dtype, "batch_size", hidden);
    }

    /** CLIP linear: normal-init weight, torch-default bias. */
    private static String linear(OnnxGraphBuilder b, String prefix, String x, long in, long out, WeightInit init) {
        return b.linear(prefix, x, in, out, WeightInit.torchDefault(in), init);
    }

    /** [P, P] additive causal mask: 0 on and below the diagonal, dtype min above (transformers' convention). */
    private static String causalMask(OnnxGraphBuilder b, long positions) {
        int p = (int) positions;
        float[] values = new float[p * p];
        for (int i = 0; i < p; i++) {
            for (int j = i + 1; j < p; j++) {
                values[i * p + j] = b.precision().lowest();
            }
        }
        return b.constant("causal_mask", values, positions, positions);
    }
}
