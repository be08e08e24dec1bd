package dev.sdmesh.vae.service;

import dev.sdmesh.proto.v1.VaeEncodeRequest;
import dev.sdmesh.proto.v1.VaeEncodeResponse;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.runtime.tensor.TensorCodec;
import dev.sdmesh.vae.image.ImageInput;
import dev.sdmesh.vae.image.Pixels;
import dev.sdmesh.vae.image.ResizeMode;
import dev.sdmesh.vae.pipeline.InpaintMask;
import dev.sdmesh.vae.pipeline.LatentDistribution;
import dev.sdmesh.vae.pipeline.VaeEncoder;

import java.util.concurrent.atomic.LongAdder;

/**
 * The Encode use case: image bytes to the scaled latents of img2img and inpainting, drawing from the request's
 * generator exactly as diffusers' single generator draws (see {@link VaeEncoder} for the cross-stage order).
 *
 * <p>Draws: the image's latent sample comes first, and the returned {@code rng_state} is the state right after it;
 * unet-svc continues from there with the {@code add_noise} draw. For inpainting, diffusers then samples the masked
 * image's latents; this is done here on a copy of the generator that first skips that {@code add_noise} draw, so the
 * masked latents are diffusers' own while unet-svc, which skips the masked-image draw itself, stays in step.
 */
public final class EncodeService {
    private final VaeModels models;
    private final ImageInput images;
    private final int maxImagePixels;
    private final LongAdder imagesEncoded = new LongAdder();
    private final LongAdder pixelsEncoded = new LongAdder();

    /** @param limits size and byte limits for the image and the mask; their width limit also bounds width/height */
    public EncodeService(VaeModels models, ImageInput.Limits limits) {
        this.models = models;
        this.images = new ImageInput(limits);
        this.maxImagePixels = Math.min(limits.maxWidth(), limits.maxHeight());
    }

    public VaeEncodeResponse encode(VaeEncodeRequest request) {
        VaeModels.Loaded model = models.get(request.getModel());
        VaeEncoder encoder = model.requireEncoder();
        int scale = model.config().scaleFactor();
        int width = checkSize("width", request.getWidth(), scale);
        int height = checkSize("height", request.getHeight(), scale);
        int batch = request.getBatch() == 0 ? 1 : request.getBatch();
        if (batch < 1 || batch > DecodeService.MAX_BATCH) {
            throw new InvalidFieldException("batch", Integer.toUnsignedString(batch) + " is outside 1.." + DecodeService.MAX_BATCH);
        }
        ResizeMode resize;
        try {
            resize = ResizeMode.fromA1111(request.getResizeModeValue());
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException("resize_mode", e.getMessage());
        }
        Pixels image = resize.apply(read("image", request.getImage().toByteArray(), false), width, height);
        InpaintMask mask = request.getMask().isEmpty() ? null : InpaintMask.binarize(
                resize.apply(read("mask", request.getMask().toByteArray(), true), width, height).data(), 1, height, width);
        TorchGenerator generator = generator(request);

        float[] pixels = VaeEncoder.preprocess(image.data(), 1, height, width);
        long[] pixelShape = {1, 3, height, width};
        long[] latentShape = {1, model.config().latentChannels(), height / scale, width / scale};
        VaeEncodeResponse.Builder response = VaeEncodeResponse.newBuilder()
                .setLatents(TensorCodec.floats(latents(encoder, pixels, pixelShape, request.getUseMean(), generator), latentShape))
                .setRngState(generator.toProto());
        if (mask != null) {
            // The add_noise draw unet-svc makes next: one noise tensor for the whole batch.
            TorchGenerator afterNoise = TorchGenerator.fromProto(generator.toProto());
            VaeEncoder.skipSample(afterNoise, new long[]{batch, latentShape[1], latentShape[2], latentShape[3]});
            float[] masked = latents(encoder, mask.maskedImage(pixels), pixelShape, request.getUseMean(), afterNoise);
            response.setMask(TensorCodec.floats(mask.latentMask(scale), 1, 1, latentShape[2], latentShape[3]))
                    .setMaskedImageLatents(TensorCodec.floats(masked, latentShape));
        }
        imagesEncoded.add(mask == null ? 1 : 2);
        pixelsEncoded.add((long) (mask == null ? 1 : 2) * width * height);
        return response.build();
    }

    /** Images run through the encoder so far (an inpaint request runs two: the image and the masked image). */
    public long imagesEncoded() {
        return imagesEncoded.sum();
    }

    /** Pixels run through the encoder so far. */
    public long pixelsEncoded() {
        return pixelsEncoded.sum();
    }

    /** {@code scaling_factor * latent_dist.sample(generator)} (or its mode); the graph's own sample for legacy exports. */
    private static float[] latents(VaeEncoder encoder, float[] pixels, long[] shape, boolean useMean, TorchGenerator generator) {
        LatentDistribution distribution = encoder.encode(pixels, shape);
        return encoder.scale(useMean ? distribution.mode() : distribution.sample(generator));
    }

    private static TorchGenerator generator(VaeEncodeRequest request) {
        if (!request.hasRngState()) return new TorchGenerator(request.getSeed());
        try {
            return TorchGenerator.fromProto(request.getRngState());
        } catch (RuntimeException e) {
            throw new InvalidFieldException("rng_state", "is not a valid generator state: " + e.getMessage());
        }
    }

    private Pixels read(String field, byte[] bytes, boolean gray) {
        try {
            return gray ? images.decodeGray(bytes) : images.decodeRgb(bytes);
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException(field, e.getMessage());
        }
    }

    private int checkSize(String field, int pixels, int scale) {
        if (pixels <= 0 || pixels % scale != 0) {
            throw new InvalidFieldException(field, Integer.toUnsignedString(pixels) + " is not a positive multiple of " + scale);
        }
        if (pixels > maxImagePixels) throw new InvalidFieldException(field, pixels + " exceeds the maximum " + maxImagePixels);
        return pixels;
    }
}
