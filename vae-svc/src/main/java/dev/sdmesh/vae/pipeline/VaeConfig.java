package dev.sdmesh.vae.pipeline;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The parts of an {@code AutoencoderKL} config.json that the pipelines use around the VAE graphs.
 *
 * @param scalingFactor  {@code scaling_factor}: latents are {@code z * scaling_factor} (0.18215 for SD 1.x)
 * @param shiftFactor    {@code shift_factor} (SD3/Flux VAEs); 0 where the config has none, which leaves values unchanged
 * @param latentChannels {@code latent_channels} (4 for SD 1.x/2.x)
 * @param scaleFactor    pixels per latent along each axis, diffusers' {@code vae_scale_factor =
 *                       2 ** (len(block_out_channels) - 1)} (8 for SD)
 */
public record VaeConfig(float scalingFactor, float shiftFactor, int latentChannels, int scaleFactor) {

    public VaeConfig {
        if (!(scalingFactor > 0) || !Float.isFinite(scalingFactor)) {
            throw new IllegalArgumentException("VAE scaling_factor must be a positive number, got " + scalingFactor);
        }
        if (latentChannels <= 0) throw new IllegalArgumentException("VAE latent_channels must be positive");
        if (scaleFactor <= 0) throw new IllegalArgumentException("VAE scale factor must be positive");
    }

    /** SD 1.x defaults, used when a config omits a key (diffusers' own defaults for AutoencoderKL). */
    public static VaeConfig sd15() {
        return new VaeConfig(0.18215f, 0f, 4, 8);
    }

    /**
     * Reads {@code scaling_factor}, optional {@code shift_factor} (null or absent = 0), {@code latent_channels} and
     * the scale factor from the number of {@code block_out_channels}.
     */
    public static VaeConfig from(JsonNode config) {
        JsonNode shift = config.path("shift_factor");
        JsonNode blocks = config.path("block_out_channels");
        return new VaeConfig(
                (float) config.path("scaling_factor").asDouble(0.18215),
                shift.isNumber() ? (float) shift.asDouble() : 0f,
                config.path("latent_channels").asInt(4),
                blocks.isArray() && blocks.size() > 0 ? 1 << (blocks.size() - 1) : 8);
    }
}
