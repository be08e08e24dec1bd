package dev.sdmesh.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;

/**
 * The tensor sizes a request of one model moves around, from the model folder's diffusers configs.
 *
 * @param sequenceLength    tokens per prompt (CLIP's 77)
 * @param hiddenSize        text encoder width = UNet cross-attention width
 * @param unetInChannels    UNet {@code sample} channels (9 for inpainting UNets)
 * @param latentChannels    channels of the latents the UNet returns and the VAE decodes
 * @param vaeScaleFactor    pixels per latent along each axis (8 for SD)
 * @param eosTokenId        a token id the text encoder's vocabulary certainly holds
 */
public record ModelGeometry(int sequenceLength, int hiddenSize, int unetInChannels, int latentChannels,
                            int vaeScaleFactor, int eosTokenId) {

    public static ModelGeometry of(ModelFolder folder) {
        JsonNode text = folder.config(ModelPart.TEXT_ENCODER);
        JsonNode unet = folder.config(ModelPart.UNET);
        JsonNode vae = folder.config(ModelPart.VAE_DECODER);
        // diffusers: vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        int scale = 1 << Math.max(0, vae.path("block_out_channels").size() - 1);
        return new ModelGeometry(text.path("max_position_embeddings").asInt(77), text.path("hidden_size").asInt(),
                unet.path("in_channels").asInt(4), vae.path("latent_channels").asInt(4), scale,
                text.path("eos_token_id").asInt(2));
    }

    public int latentHeight(int height) {
        return height / vaeScaleFactor;
    }

    public int latentWidth(int width) {
        return width / vaeScaleFactor;
    }
}
