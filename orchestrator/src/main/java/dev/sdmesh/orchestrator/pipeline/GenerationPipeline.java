package dev.sdmesh.orchestrator.pipeline;

import com.google.protobuf.ByteString;
import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationRequest;
import dev.sdmesh.proto.v1.DataType;
import dev.sdmesh.proto.v1.DecodeRequest;
import dev.sdmesh.proto.v1.DecodeResponse;
import dev.sdmesh.proto.v1.DenoiseEvent;
import dev.sdmesh.proto.v1.DenoiseRequest;
import dev.sdmesh.proto.v1.DenoiseResult;
import dev.sdmesh.proto.v1.EncodeRequest;
import dev.sdmesh.proto.v1.EncodeResponse;
import dev.sdmesh.proto.v1.PromptSyntax;
import dev.sdmesh.proto.v1.Tensor;
import dev.sdmesh.proto.v1.VaeEncodeRequest;
import dev.sdmesh.proto.v1.VaeEncodeResponse;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import dev.sdmesh.runtime.tensor.Npy;

import java.nio.ByteOrder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One generation across the stages, as diffusers' StableDiffusion(Img2Img|Inpaint)Pipeline orders it:
 * [vae Encode (img2img/inpaint) →] text encoder → UNet denoising loop (streamed) → vae Decode → storage.
 * The generator state left by the VAE encoder's sampling is passed to the UNet, as diffusers' single generator would be.
 */
public final class GenerationPipeline {
    private final Stages stages;
    private final ImageStore store;
    private final String bucket;
    private final ModelCatalog catalog;
    private final GenerationDefaults defaults;
    private final GenerationMetrics metrics;

    public GenerationPipeline(Stages stages, ImageStore store, String bucket, ModelCatalog catalog,
                              GenerationDefaults defaults, GenerationMetrics metrics) {
        this.stages = stages;
        this.store = store;
        this.bucket = bucket;
        this.catalog = catalog;
        this.defaults = defaults;
        this.metrics = metrics;
    }

    public ResolvedRequest resolve(GenerationRequest request) {
        return ResolvedRequest.resolve(request, catalog.resolve(request.model()), defaults);
    }

    /** Runs the generation and returns its {@code completed} event. */
    public GenerationEvent run(ResolvedRequest r, StageContext context, Consumer<DenoiseEvent> updates) {
        Instant started = Instant.now();
        Map<String, Long> timings = new LinkedHashMap<>();
        GenerationRequest request = r.request();

        VaeEncodeResponse encoded = null;
        if (request.isImg2Img()) {
            VaeEncodeRequest.Builder vae = VaeEncodeRequest.newBuilder()
                    .setRequestId(request.requestId()).setModel(r.model())
                    .setImage(ByteString.copyFrom(image(request.initImage(), "initImage")))
                    .setWidth(r.width()).setHeight(r.height()).setSeed(r.seed()).setBatch(r.batchSize());
            if (request.isInpaint()) vae.setMask(ByteString.copyFrom(image(request.mask(), "mask")));
            encoded = timed("vaeEncode", timings, () -> stages.encodeImage(vae.build(), context));
        }
        context.cancellation().throwIfCancelled();

        EncodeResponse text = timed("textEncoder", timings, () -> stages.encode(EncodeRequest.newBuilder()
                .setRequestId(request.requestId()).setModel(r.model())
                .addAllPrompts(Collections.nCopies(r.batchSize(), r.prompt()))
                .addNegativePrompts(r.negativePrompt())
                .setPromptSyntax(GenerationRequest.SYNTAX_NONE.equals(r.promptSyntax()) ? PromptSyntax.NONE : PromptSyntax.A1111)
                .setClipSkip(r.clipSkip())
                .setIncludeUnconditional(r.guidanceScale() > 1)
                .build(), context));
        context.cancellation().throwIfCancelled();

        DenoiseRequest.Builder denoise = DenoiseRequest.newBuilder()
                .setRequestId(request.requestId()).setModel(r.model())
                .setCondEmbeddings(text.getCondEmbeddings())
                .setWidth(r.width()).setHeight(r.height()).setSeed(r.seed())
                .setScheduler(r.scheduler() == null ? "" : r.scheduler())
                .putAllSchedulerOptions(request.schedulerOptions())
                .setSteps(r.steps()).setGuidanceScale((float) r.guidanceScale())
                .setPreviewEvery(r.previewEvery());
        if (text.hasUncondEmbeddings()) denoise.setUncondEmbeddings(text.getUncondEmbeddings());
        if (encoded != null) {
            denoise.setStrength(r.strength().floatValue()).setInitLatents(encoded.getLatents()).setRngState(encoded.getRngState());
            if (encoded.hasMask()) denoise.setMask(encoded.getMask());
            if (encoded.hasMaskedImageLatents()) denoise.setMaskedImageLatents(encoded.getMaskedImageLatents());
        }
        DenoiseResult latents = timed("unet", timings, () -> stages.denoise(denoise.build(), context, updates));
        context.cancellation().throwIfCancelled();

        // The sampler the infotext names is the one the request asked for (an A1111 name stays an A1111 name).
        String sampler = r.scheduler() != null && !r.scheduler().isEmpty() ? r.scheduler() : latents.getScheduler();
        String infotext = r.infotext(sampler);
        DecodeResponse decoded = timed("vae", timings, () -> stages.decode(DecodeRequest.newBuilder()
                .setRequestId(request.requestId()).setModel(r.model())
                .setLatents(latents.getLatents()).setPng(true)
                .addInfotexts(infotext)
                .build(), context));
        if (decoded.getPngsCount() != r.batchSize()) {
            throw new GenerationFailure("stage_error", "vae returned " + decoded.getPngsCount() + " images for a batch of "
                    + r.batchSize(), null, null);
        }
        context.cancellation().throwIfCancelled();

        // One generator draws the whole batch (diffusers' convention), so every image reports the request's seed.
        List<GenerationEvent.ImageRef> images = timed("storage", timings,
                () -> store(request, started, decoded, latents, r.seedText()));
        metrics.imagesWritten(images.size());
        timings.put("total", Duration.between(started, Instant.now()).toMillis());
        return GenerationEvent.completed(request.requestId(), images, timings, infotext, request.metadata());
    }

    private List<GenerationEvent.ImageRef> store(GenerationRequest request, Instant day, DecodeResponse decoded,
                                                 DenoiseResult result, String seed) {
        List<float[]> perImage = request.wantsLatents() ? splitBatch(result.getLatents()) : null;
        long[] shape = result.getLatents().getShapeList().stream().mapToLong(Long::longValue).toArray();
        List<GenerationEvent.ImageRef> images = new ArrayList<>();
        for (int n = 0; n < decoded.getPngsCount(); n++) {
            String key = StorageKeys.image(day, request.requestId(), n);
            store.put(key, decoded.getPngs(n).toByteArray(), "image/png");
            String latentsKey = null;
            String latentsUrl = null;
            if (perImage != null) {
                latentsKey = StorageKeys.latents(day, request.requestId(), n);
                long[] one = shape.clone();
                one[0] = 1;
                store.put(latentsKey, Npy.writeFloats(perImage.get(n), one), "application/octet-stream");
                latentsUrl = store.presignedUrl(latentsKey);
            }
            images.add(new GenerationEvent.ImageRef(n, key, store.presignedUrl(key), seed, latentsKey, latentsUrl));
        }
        return images;
    }

    /** Splits float32 latents [batch, ...] into one row-major array per image. */
    static List<float[]> splitBatch(Tensor latents) {
        if (latents.getDtype() != DataType.FLOAT32 || latents.getShapeCount() == 0) {
            throw new GenerationFailure("stage_error", "unet returned latents of dtype " + latents.getDtype()
                    + " and shape " + latents.getShapeList(), null, null);
        }
        int batch = Math.toIntExact(latents.getShape(0));
        var floats = latents.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        int per = floats.remaining() / batch;
        List<float[]> out = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            float[] row = new float[per];
            floats.get(row);
            out.add(row);
        }
        return out;
    }

    /** Bytes of an image field: base64 (a data: URL prefix is tolerated) or an s3:// key in the bucket. */
    private byte[] image(String value, String field) {
        String key = StorageKeys.fromReference(value, bucket);
        if (key != null) {
            byte[] bytes = store.get(key);
            if (bytes == null) throw new InvalidFieldException(field, "no object " + value + " in the store");
            return bytes;
        }
        return decodeInline(value, field);
    }

    /** Bytes of an inline image field: base64, a data: URL prefix tolerated. */
    public static byte[] decodeInline(String value, String field) {
        String base64 = value.startsWith("data:") && value.contains(",") ? value.substring(value.indexOf(',') + 1) : value;
        try {
            return Base64.getMimeDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException(field, "is neither base64 nor an s3:// key: " + e.getMessage());
        }
    }

    private <T> T timed(String stage, Map<String, Long> timings, Supplier<T> call) {
        long start = System.nanoTime();
        try {
            return call.get();
        } finally {
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            timings.put(stage, took.toMillis());
            metrics.stageLatency(stage, took);
        }
    }
}
