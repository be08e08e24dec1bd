package dev.sdmesh.models;

import java.util.List;

import static dev.sdmesh.models.OnnxGraphBuilder.attr;

/** Building blocks shared by the UNet and the VAE: diffusers' ResnetBlock2D, Downsample2D, Upsample2D, Attention. */
final class DiffusersLayers {
    private final OnnxGraphBuilder b;
    private final long groups;
    private final float eps;

    DiffusersLayers(OnnxGraphBuilder b, long groups, float eps) {
        this.b = b;
        this.groups = groups;
        this.eps = eps;
    }

    String groupNorm(String prefix, String x, long channels) {
        return b.groupNorm(prefix, x, channels, groups, eps);
    }

    /**
     * ResnetBlock2D (time_embedding_norm "default", output_scale_factor 1). {@code tembAct} is SiLU(temb) of
     * shape [N, tembDim], or null for the VAE's blocks without time embedding.
     */
    String resnetBlock2D(String prefix, String x, long in, long out, String tembAct, long tembDim) {
        String h = b.conv(prefix + ".conv1", b.silu(groupNorm(prefix + ".norm1", x, in)), in, out, 3, 1, 1);
        if (tembAct != null) {
            h = b.add(h, b.reshape(b.linear(prefix + ".time_emb_proj", tembAct, tembDim, out, true), 0, 0, 1, 1));
        }
        h = b.conv(prefix + ".conv2", b.silu(groupNorm(prefix + ".norm2", h, out)), out, out, 3, 1, 1);
        String shortcut = in == out ? x : b.conv(prefix + ".conv_shortcut", x, in, out, 1, 1, 0);
        return b.add(shortcut, h);
    }

    /** Downsample2D with a stride-2 conv; padding 0 means torch's asymmetric (0, 1, 0, 1) zero pad first (VAE). */
    String downsample2D(String prefix, String x, long channels, long padding) {
        String in = padding == 0 ? b.op("Pad", List.of(x, b.ints(0, 0, 0, 0, 0, 0, 1, 1)), attr("mode", "constant")) : x;
        return b.conv(prefix + ".conv", in, channels, channels, 3, 2, padding);
    }

    /** Upsample2D: nearest-neighbour x2 (F.interpolate) then a 3x3 conv. */
    String upsample2D(String prefix, String x, long channels) {
        String scales = b.float32Constant("upsample_scales", new float[]{1, 1, 2, 2}, 4);
        String up = b.op("Resize", List.of(x, "", scales), attr("mode", "nearest"),
                attr("coordinate_transformation_mode", "asymmetric"), attr("nearest_mode", "floor"));
        return b.conv(prefix + ".conv", up, channels, channels, 3, 1, 1);
    }

    /** [B, C, H, W] to [B, H*W, C]. */
    String toTokens(String x, long channels) {
        return b.reshape(b.transpose(x, 0, 2, 3, 1), 0, -1, channels);
    }

    /** [B, H*W, C] back to the NCHW shape of {@code like}. */
    String toImage(String tokens, String like) {
        String nhwc = b.op("Gather", List.of(b.op("Shape", List.of(like)), b.ints(0, 2, 3, 1)), attr("axis", 0L));
        return b.transpose(b.op("Reshape", List.of(tokens, nhwc)), 0, 3, 1, 2);
    }

    /** The VAE mid-block Attention: GroupNorm, one head over all pixels, biased projections, residual; like diffusers (upcast_softmax) the fp16 softmax runs in float32. */
    String vaeAttention(String prefix, String x, long channels) {
        String h = toTokens(groupNorm(prefix + ".group_norm", x, channels), channels);
        String q = b.linear(prefix + ".to_q", h, channels, channels, true);
        String k = b.linear(prefix + ".to_k", h, channels, channels, true);
        String v = b.linear(prefix + ".to_v", h, channels, channels, true);
        String a = b.linear(prefix + ".to_out.0", b.attention(q, k, v, 1, channels, null, true), channels, channels, true);
        return b.add(toImage(a, x), x);
    }
}
