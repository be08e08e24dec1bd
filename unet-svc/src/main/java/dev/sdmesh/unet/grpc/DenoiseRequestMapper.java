package dev.sdmesh.unet.grpc;

import dev.sdmesh.proto.v1.DenoiseRequest;
import dev.sdmesh.proto.v1.Tensor;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import dev.sdmesh.runtime.random.TorchGenerator;
import dev.sdmesh.runtime.tensor.TensorCodec;
import dev.sdmesh.unet.pipeline.DenoiseJob;
import dev.sdmesh.unet.pipeline.DenoiseRun;
import dev.sdmesh.unet.pipeline.UnetModel;
import dev.sdmesh.unet.pipeline.UnetModels;
import dev.sdmesh.unet.scheduler.Scheduler;
import dev.sdmesh.unet.scheduler.Schedulers;

import java.security.SecureRandom;

/** Checks a {@link DenoiseRequest} against the limits and the model, and turns it into a {@link DenoiseJob}. */
public final class DenoiseRequestMapper {
    /** Largest width/height whatever the configuration. */
    public static final int HARD_MAX_SIZE = 2048;
    private static final long RANDOM_SEED = -1L;
    private static final SecureRandom SEEDS = new SecureRandom();

    private final int maxSize;

    public DenoiseRequestMapper(int maxSize) {
        this.maxSize = Math.min(maxSize, HARD_MAX_SIZE);
    }

    public DenoiseJob toJob(DenoiseRequest request, UnetModels.Loaded model) {
        UnetModel unet = model.unet();
        int width = request.getWidth() == 0 ? model.defaultSize() : request.getWidth();
        int height = request.getHeight() == 0 ? model.defaultSize() : request.getHeight();
        checkSize("width", width, unet);
        checkSize("height", height, unet);
        if (request.getSteps() < 1 || request.getSteps() > 150) {
            throw new InvalidFieldException("steps", request.getSteps() + " is outside 1..150");
        }
        float guidance = request.getGuidanceScale();
        if (!Float.isFinite(guidance) || guidance < 0 || guidance > 50) {
            throw new InvalidFieldException("guidance_scale", guidance + " is not a finite number in 0..50");
        }
        float rescale = request.getGuidanceRescale();
        if (!Float.isFinite(rescale) || rescale < 0 || rescale > 1) {
            throw new InvalidFieldException("guidance_rescale", rescale + " is not in 0..1");
        }
        int h = height / 8;
        int w = width / 8;
        int channels = unet.latentChannels();
        int dim = unet.crossAttentionDim();

        if (!request.hasCondEmbeddings()) throw new InvalidFieldException("cond_embeddings", "is required");
        Tensor cond = request.getCondEmbeddings();
        TensorCodec.requireShape(cond, "cond_embeddings", -1, -1, -1);
        long[] condShape = TensorCodec.shape(cond);
        if (condShape[2] != dim) {
            throw new InvalidFieldException("cond_embeddings", "width " + condShape[2]
                    + " does not match the UNet's cross-attention size " + dim);
        }
        int batch = Math.toIntExact(condShape[0]);
        int sequence = Math.toIntExact(condShape[1]);
        if (batch < 1 || batch > 16) throw new InvalidFieldException("cond_embeddings", "batch " + batch + " is outside 1..16");
        float[] uncond = null;
        if (guidance > 1.0f) {
            if (!request.hasUncondEmbeddings()) {
                throw new InvalidFieldException("uncond_embeddings", "is required when guidance_scale > 1");
            }
            TensorCodec.requireShape(request.getUncondEmbeddings(), "uncond_embeddings", condShape);
            uncond = TensorCodec.toFloats(request.getUncondEmbeddings(), "uncond_embeddings");
        }

        long seed = request.hasSeed() ? request.getSeed() : RANDOM_SEED;
        TorchGenerator generator;
        if (request.hasRngState()) {
            generator = TorchGenerator.fromProto(request.getRngState());
        } else {
            if (seed == RANDOM_SEED) seed = SEEDS.nextLong() & Long.MAX_VALUE;
            generator = new TorchGenerator(seed);
        }

        float[] initialLatents = request.hasInitialLatents()
                ? latents(request.getInitialLatents(), "initial_latents", batch, channels, h, w, false) : null;
        float[] initLatents = null;
        float[] mask = null;
        float[] maskedImageLatents = null;
        float strength = request.getStrength();
        if (request.hasInitLatents()) {
            initLatents = latents(request.getInitLatents(), "init_latents", batch, channels, h, w, true);
            if (request.hasMask()) {
                mask = latents(request.getMask(), "mask", batch, 1, h, w, true);
                if (unet.isInpaintingUnet()) {
                    if (!request.hasMaskedImageLatents()) {
                        throw new InvalidFieldException("masked_image_latents", "is required by a 9-channel inpainting UNet");
                    }
                    maskedImageLatents = latents(request.getMaskedImageLatents(), "masked_image_latents", batch, channels, h, w, true);
                }
            }
            if (strength == 0) strength = mask != null ? 1.0f : 0.8f;
        } else if (request.hasMask()) {
            throw new InvalidFieldException("init_latents", "is required with a mask");
        } else if (unet.isInpaintingUnet()) {
            throw new InvalidFieldException("mask", "is required by a 9-channel inpainting UNet");
        }
        if (!Float.isFinite(strength) || strength < 0 || strength > 1 || (initLatents != null && strength == 0)) {
            throw new InvalidFieldException("strength", strength + " is outside (0, 1]");
        }
        if (initLatents != null && DenoiseRun.initTimestep(request.getSteps(), strength) < 1) {
            throw new InvalidFieldException("strength", "steps × strength = " + request.getSteps() * strength
                    + " leaves no denoising step; raise strength or steps");
        }

        Scheduler scheduler = Schedulers.create(request.getScheduler(), model.schedulerConfig(), request.getSchedulerOptionsMap());
        return new DenoiseJob(request.getRequestId(), batch, h, w,
                TensorCodec.toFloats(cond, "cond_embeddings"), uncond, sequence,
                scheduler, request.getSteps(), guidance, rescale, generator, initialLatents,
                initLatents == null ? 0 : strength, initLatents, mask, maskedImageLatents, request.getPreviewEvery());
    }

    /** The seed a job runs with (drawn when the request had none). */
    public static long seedOf(DenoiseJob job) {
        return job.generator().seed();
    }

    private void checkSize(String field, int pixels, UnetModel unet) {
        if (pixels <= 0 || pixels % 8 != 0) throw new InvalidFieldException(field, pixels + " is not a positive multiple of 8");
        if (pixels > maxSize) throw new InvalidFieldException(field, pixels + " exceeds the maximum " + maxSize);
        int multiple = 8 * unet.latentSizeMultiple();
        if (pixels % multiple != 0) {
            throw new InvalidFieldException(field, pixels + " is not a multiple of " + multiple + " as this UNet needs");
        }
    }

    private static float[] latents(Tensor tensor, String field, int batch, int channels, int h, int w, boolean oneOrBatch) {
        TensorCodec.requireShape(tensor, field, -1, channels, h, w);
        long n = TensorCodec.shape(tensor)[0];
        if (n != batch && !(oneOrBatch && n == 1)) {
            throw new InvalidFieldException(field, "batch " + n + " does not match the embeddings' batch " + batch);
        }
        float[] values = TensorCodec.toFloats(tensor, field);
        for (float v : values) {
            if (!Float.isFinite(v)) throw new InvalidFieldException(field, "contains NaN or Inf");
        }
        return values;
    }
}
