package dev.sdmesh.vae.pipeline;

/**
 * Tiled decoding, as diffusers' {@code AutoencoderKL.tiled_decode}: the latents are cut into overlapping square tiles,
 * each decoded alone, and neighbouring tiles are blended linearly across the overlap so no seams show. Memory then
 * grows with the tile, not the image.
 *
 * <p>diffusers expresses the same thing as {@code tile_sample_min_size} (the config's {@code sample_size}, 512 for SD)
 * and {@code tile_overlap_factor = 0.25}: its blend extent is {@code tileSize * factor} pixels and its latent stride
 * is {@code (tileSize - blend extent) / scale factor}. {@code Tiling(512, 512, 128)} is exactly diffusers' default.
 *
 * @param threshold decode in tiles when the image is wider or taller than this many pixels
 * @param tileSize  tile edge in pixels (a multiple of the VAE scale factor)
 * @param overlap   pixels blended between neighbouring tiles (a multiple of the scale factor, below tileSize)
 */
public record Tiling(int threshold, int tileSize, int overlap) {

    public Tiling {
        if (threshold <= 0 || tileSize <= 0) throw new IllegalArgumentException("tile threshold and size must be positive");
        if (overlap < 0 || overlap >= tileSize) {
            throw new IllegalArgumentException("tile overlap " + overlap + " must be in [0, tile size " + tileSize + ")");
        }
    }

    /** diffusers' {@code enable_tiling()} for an SD 1.x VAE (tile 512 px, overlap factor 0.25). */
    public static Tiling diffusersDefault() {
        return new Tiling(512, 512, 128);
    }

    boolean applies(int height, int width) {
        return height > threshold || width > threshold;
    }

    void checkScale(int scaleFactor) {
        if (tileSize % scaleFactor != 0 || overlap % scaleFactor != 0) {
            throw new IllegalArgumentException("tile size " + tileSize + " and overlap " + overlap
                    + " must be multiples of the VAE scale factor " + scaleFactor);
        }
    }
}
