package dev.sdmesh.models;

import java.util.List;

/** Architecture hyper-parameters of the three networks, named like the diffusers / transformers config keys. */
public final class ModelConfigs {
    private ModelConfigs() {
    }

    /** transformers CLIPTextConfig. */
    public record ClipText(int hiddenSize, int numHiddenLayers, int numAttentionHeads, int intermediateSize,
                           int maxPositionEmbeddings, String hiddenAct, int projectionDim) {
    }

    /**
     * diffusers UNet2DConditionModel config. {@code attentionHeads} holds, per down block, the value diffusers
     * calls {@code attention_head_dim} and (for SD 1.x/2.x, as a legacy quirk) uses as the number of heads.
     * Every down block but the last is a CrossAttnDownBlock2D, mirrored by the up blocks.
     */
    public record UNet(int inChannels, int outChannels, List<Integer> blockOutChannels, int layersPerBlock,
                       List<Integer> attentionHeads, boolean scalarHeadDim, int normNumGroups,
                       int crossAttentionDim, boolean useLinearProjection, boolean upcastAttention, int sampleSize) {
        static final float NORM_EPS = 1e-5f;

        public int timeEmbedDim() {
            return blockOutChannels.get(0) * 4;
        }
    }

    /** diffusers AutoencoderKL config. */
    public record Vae(List<Integer> blockOutChannels, int layersPerBlock, int normNumGroups, int latentChannels,
                      int sampleSize, double scalingFactor) {
        static final float NORM_EPS = 1e-6f;
    }
}
