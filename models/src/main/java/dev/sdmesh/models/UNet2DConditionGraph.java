package dev.sdmesh.models;

import dev.sdmesh.models.onnx.TensorProto;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * diffusers UNet2DConditionModel (SD 1.x / 2.x layout) as an ONNX graph with Optimum's current signature:
 * {@code sample} [b, C, h, w], rank-0 float32 {@code timestep}, {@code encoder_hidden_states} [b, seq, ctx]
 * and {@code out_sample}.
 */
final class UNet2DConditionGraph {
    private static final float TRANSFORMER_NORM_EPS = 1e-6f;
    private static final float BLOCK_NORM_EPS = 1e-5f;

    private final OnnxGraphBuilder b;
    private final ModelConfigs.UNet c;
    private final DiffusersLayers layers;
    private String tembAct;
    private String encoderHiddenStates;

    private record Skip(String value, long channels) {
    }

    private UNet2DConditionGraph(OnnxGraphBuilder b, ModelConfigs.UNet c) {
        this.b = b;
        this.c = c;
        this.layers = new DiffusersLayers(b, c.normNumGroups(), ModelConfigs.UNet.NORM_EPS);
    }

    static void build(OnnxGraphBuilder b, ModelConfigs.UNet c) {
        new UNet2DConditionGraph(b, c).build();
    }

    private void build() {
        int dtype = b.precision().onnxType();
        String sample = b.input("sample", dtype, "batch_size", c.inChannels(), "height", "width");
        String timestep = b.input("timestep", TensorProto.DataType.FLOAT_VALUE);
        encoderHiddenStates = b.input("encoder_hidden_states", dtype, "batch_size", "sequence_length",
                c.crossAttentionDim());

        List<Integer> boc = c.blockOutChannels();
        int blocks = boc.size();
        String temb = timeEmbedding(timestep);
        // Every ResnetBlock2D applies SiLU to temb before its projection; compute it once.
        tembAct = b.silu(temb);

        String h = b.conv("conv_in", sample, c.inChannels(), boc.get(0), 3, 1, 1);
        Deque<Skip> skips = new ArrayDeque<>();
        skips.push(new Skip(h, boc.get(0)));
        long channels = boc.get(0);
        for (int i = 0; i < blocks; i++) {
            String prefix = "down_blocks." + i;
            long out = boc.get(i);
            boolean crossAttn = i < blocks - 1;
            for (int j = 0; j < c.layersPerBlock(); j++) {
                h = resnet(prefix + ".resnets." + j, h, channels, out);
                channels = out;
                if (crossAttn) {
                    h = transformer2D(prefix + ".attentions." + j, h, out, c.attentionHeads().get(i));
                }
                skips.push(new Skip(h, out));
            }
            if (i < blocks - 1) {
                h = layers.downsample2D(prefix + ".downsamplers.0", h, out, 1);
                skips.push(new Skip(h, out));
            }
        }

        int midHeads = c.attentionHeads().get(blocks - 1);
        h = resnet("mid_block.resnets.0", h, channels, channels);
        h = transformer2D("mid_block.attentions.0", h, channels, midHeads);
        h = resnet("mid_block.resnets.1", h, channels, channels);

        for (int i = 0; i < blocks; i++) {
            String prefix = "up_blocks." + i;
            int reversed = blocks - 1 - i;
            long out = boc.get(reversed);
            boolean crossAttn = i > 0;
            for (int j = 0; j <= c.layersPerBlock(); j++) {
                Skip skip = skips.pop();
                h = resnet(prefix + ".resnets." + j, b.concat(1, h, skip.value()), channels + skip.channels(), out);
                channels = out;
                if (crossAttn) {
                    h = transformer2D(prefix + ".attentions." + j, h, out, c.attentionHeads().get(reversed));
                }
            }
            if (i < blocks - 1) {
                h = layers.upsample2D(prefix + ".upsamplers.0", h, out);
            }
        }

        h = b.silu(layers.groupNorm("conv_norm_out", h, channels));
        h = b.conv("conv_out", h, channels, c.outChannels(), 3, 1, 1);
        b.output(h, "out_sample", dtype, "batch_size", c.outChannels(), "height", "width");
    }

    /**
     * Timesteps (sinusoidal, flip_sin_to_cos=True, downscale_freq_shift=0) followed by TimestepEmbedding.
     * The sinusoid is computed in float32 and only then cast, as diffusers does for fp16 models. A rank-0 or
     * 1-D timestep gives [N, dim] with N = 1 or batch, which broadcasts over the batch downstream.
     */
    private String timeEmbedding(String timestep) {
        int dim = c.blockOutChannels().get(0);
        int half = dim / 2;
        float[] freqs = new float[half];
        float logMaxPeriod = (float) -Math.log(10000);
        for (int i = 0; i < half; i++) {
            freqs[i] = (float) Math.exp(logMaxPeriod * i / half);
        }
        String args = b.mul(b.reshape(timestep, -1, 1), b.float32Constant("time_proj_freqs", freqs, 1, half));
        String emb = b.concat(-1, b.op("Cos", List.of(args)), b.op("Sin", List.of(args)));
        if (b.precision() != Precision.FLOAT32) {
            emb = b.cast(emb, b.precision().onnxType());
        }
        String hidden = b.silu(b.linear("time_embedding.linear_1", emb, dim, c.timeEmbedDim(), true));
        return b.linear("time_embedding.linear_2", hidden, c.timeEmbedDim(), c.timeEmbedDim(), true);
    }

    private String resnet(String prefix, String x, long in, long out) {
        return layers.resnetBlock2D(prefix, x, in, out, tembAct, c.timeEmbedDim());
    }

    /** Transformer2DModel with one BasicTransformerBlock (self-attn, cross-attn on text, GEGLU feed-forward). */
    private String transformer2D(String prefix, String x, long channels, long heads) {
        String h = b.groupNorm(prefix + ".norm", x, channels, c.normNumGroups(), TRANSFORMER_NORM_EPS);
        if (c.useLinearProjection()) {
            h = b.linear(prefix + ".proj_in", layers.toTokens(h, channels), channels, channels, true);
        } else {
            h = layers.toTokens(b.conv(prefix + ".proj_in", h, channels, channels, 1, 1, 0), channels);
        }

        String block = prefix + ".transformer_blocks.0";
        long headDim = channels / heads;
        String n = b.layerNorm(block + ".norm1", h, channels, BLOCK_NORM_EPS);
        h = b.add(attention(block + ".attn1", n, n, channels, channels, heads, headDim), h);
        n = b.layerNorm(block + ".norm2", h, channels, BLOCK_NORM_EPS);
        h = b.add(attention(block + ".attn2", n, encoderHiddenStates, channels, c.crossAttentionDim(), heads, headDim), h);
        n = b.layerNorm(block + ".norm3", h, channels, BLOCK_NORM_EPS);
        h = b.add(geglu(block + ".ff", n, channels), h);

        String out;
        if (c.useLinearProjection()) {
            out = layers.toImage(b.linear(prefix + ".proj_out", h, channels, channels, true), x);
        } else {
            out = b.conv(prefix + ".proj_out", layers.toImage(h, x), channels, channels, 1, 1, 0);
        }
        return b.add(out, x);
    }

    /** diffusers Attention as used by BasicTransformerBlock: bias-free q/k/v, biased to_out.0. */
    private String attention(String prefix, String x, String context, long channels, long contextDim,
                             long heads, long headDim) {
        String q = b.linear(prefix + ".to_q", x, channels, channels, false);
        String k = b.linear(prefix + ".to_k", context, contextDim, channels, false);
        String v = b.linear(prefix + ".to_v", context, contextDim, channels, false);
        String a = b.attention(q, k, v, heads, headDim, null, c.upcastAttention());
        return b.linear(prefix + ".to_out.0", a, channels, channels, true);
    }

    /** FeedForward with GEGLU: proj to 2 x 4C, value * gelu(gate), project back. */
    private String geglu(String prefix, String x, long channels) {
        long inner = channels * 4;
        String proj = b.linear(prefix + ".net.0.proj", x, channels, inner * 2, true);
        String[] halves = b.ops("Split", 2, List.of(proj), OnnxGraphBuilder.attr("axis", -1L));
        return b.linear(prefix + ".net.2", b.mul(halves[0], b.gelu(halves[1])), inner, channels, true);
    }
}
