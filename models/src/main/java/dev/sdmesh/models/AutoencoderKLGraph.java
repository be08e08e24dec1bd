package dev.sdmesh.models;

import java.util.List;

/**
 * diffusers AutoencoderKL split the way Optimum exports it: {@code vae_encoder} maps {@code sample} to
 * {@code latent_parameters} = quant_conv(encoder(x)) = cat(mean, logvar); {@code vae_decoder} maps
 * {@code latent_sample} through post_quant_conv and the decoder to {@code sample}.
 */
final class AutoencoderKLGraph {
    private static final int IMAGE_CHANNELS = 3;

    private final OnnxGraphBuilder b;
    private final ModelConfigs.Vae c;
    private final DiffusersLayers layers;

    private AutoencoderKLGraph(OnnxGraphBuilder b, ModelConfigs.Vae c) {
        this.b = b;
        this.c = c;
        this.layers = new DiffusersLayers(b, c.normNumGroups(), ModelConfigs.Vae.NORM_EPS);
    }

    static void buildEncoder(OnnxGraphBuilder b, ModelConfigs.Vae c) {
        new AutoencoderKLGraph(b, c).encoder();
    }

    static void buildDecoder(OnnxGraphBuilder b, ModelConfigs.Vae c) {
        new AutoencoderKLGraph(b, c).decoder();
    }

    private void encoder() {
        int dtype = b.precision().onnxType();
        List<Integer> boc = c.blockOutChannels();
        int blocks = boc.size();
        String sample = b.input("sample", dtype, "batch_size", IMAGE_CHANNELS, "sample_height", "sample_width");
        String h = b.conv("encoder.conv_in", sample, IMAGE_CHANNELS, boc.get(0), 3, 1, 1);
        long channels = boc.get(0);
        for (int i = 0; i < blocks; i++) {
            String prefix = "encoder.down_blocks." + i;
            long out = boc.get(i);
            for (int j = 0; j < c.layersPerBlock(); j++) {
                h = layers.resnetBlock2D(prefix + ".resnets." + j, h, channels, out, null, 0);
                channels = out;
            }
            if (i < blocks - 1) {
                h = layers.downsample2D(prefix + ".downsamplers.0", h, out, 0);
            }
        }
        h = midBlock("encoder.mid_block", h, channels);
        h = b.silu(layers.groupNorm("encoder.conv_norm_out", h, channels));
        long moments = 2L * c.latentChannels();
        h = b.conv("encoder.conv_out", h, channels, moments, 3, 1, 1);
        h = b.conv("quant_conv", h, moments, moments, 1, 1, 0);
        b.output(h, "latent_parameters", dtype, "batch_size", moments, "latent_height", "latent_width");
    }

    private void decoder() {
        int dtype = b.precision().onnxType();
        List<Integer> boc = c.blockOutChannels();
        int blocks = boc.size();
        long latent = c.latentChannels();
        String z = b.input("latent_sample", dtype, "batch_size", latent, "latent_height", "latent_width");
        String h = b.conv("post_quant_conv", z, latent, latent, 1, 1, 0);
        long channels = boc.get(blocks - 1);
        h = b.conv("decoder.conv_in", h, latent, channels, 3, 1, 1);
        h = midBlock("decoder.mid_block", h, channels);
        for (int i = 0; i < blocks; i++) {
            String prefix = "decoder.up_blocks." + i;
            long out = boc.get(blocks - 1 - i);
            for (int j = 0; j <= c.layersPerBlock(); j++) {
                h = layers.resnetBlock2D(prefix + ".resnets." + j, h, channels, out, null, 0);
                channels = out;
            }
            if (i < blocks - 1) {
                h = layers.upsample2D(prefix + ".upsamplers.0", h, out);
            }
        }
        h = b.silu(layers.groupNorm("decoder.conv_norm_out", h, channels));
        h = b.conv("decoder.conv_out", h, channels, IMAGE_CHANNELS, 3, 1, 1);
        b.output(h, "sample", dtype, "batch_size", IMAGE_CHANNELS, "height", "width");
    }

    /** UNetMidBlock2D: resnet, single-head attention, resnet. */
    private String midBlock(String prefix, String x, long channels) {
        String h = layers.resnetBlock2D(prefix + ".resnets.0", x, channels, channels, null, 0);
        h = layers.vaeAttention(prefix + ".attentions.0", h, channels);
        return layers.resnetBlock2D(prefix + ".resnets.1", h, channels, channels, null, 0);
    }
}
