package dev.sdmesh.vae.service;

import com.google.protobuf.ByteString;
import dev.sdmesh.proto.v1.DecodeRequest;
import dev.sdmesh.proto.v1.DecodeResponse;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import dev.sdmesh.runtime.image.PngWriter;
import dev.sdmesh.runtime.tensor.TensorCodec;
import dev.sdmesh.vae.pipeline.DecodedImages;
import dev.sdmesh.vae.pipeline.VaeDecoder;

import java.util.concurrent.atomic.LongAdder;

/**
 * The Decode use case: checks the latents, decodes the batch (tiled when asked or when large) and returns PNGs with
 * A1111's {@code parameters} chunk and the request JSON, and/or the raw RGB batch.
 */
public final class DecodeService {
    /** Images per request; the batch is decoded in one graph run. */
    public static final int MAX_BATCH = 16;

    private final VaeModels models;
    private final int maxImagePixels;
    private final LongAdder imagesDecoded = new LongAdder();
    private final LongAdder pixelsDecoded = new LongAdder();

    /** @param maxImagePixels widest/tallest image decoded, in pixels */
    public DecodeService(VaeModels models, int maxImagePixels) {
        this.models = models;
        this.maxImagePixels = maxImagePixels;
    }

    public DecodeResponse decode(DecodeRequest request) {
        VaeModels.Loaded model = models.get(request.getModel());
        int channels = model.config().latentChannels(), scale = model.config().scaleFactor();
        if (!request.hasLatents()) throw new InvalidFieldException("latents", "is required");
        TensorCodec.requireShape(request.getLatents(), "latents", -1, channels, -1, -1);
        long[] shape = TensorCodec.shape(request.getLatents());
        if (shape[0] < 1 || shape[0] > MAX_BATCH) {
            throw new InvalidFieldException("latents", "batch " + shape[0] + " is outside 1.." + MAX_BATCH);
        }
        if (shape[2] < 1 || shape[3] < 1 || shape[2] * scale > maxImagePixels || shape[3] * scale > maxImagePixels) {
            throw new InvalidFieldException("latents", "latent size " + shape[3] + "x" + shape[2] + " makes an image of "
                    + shape[3] * scale + "x" + shape[2] * scale + "; the limit is " + maxImagePixels + " px per side");
        }
        int batch = (int) shape[0];
        int infotexts = request.getInfotextsCount();
        if (infotexts > 1 && infotexts != batch) {
            throw new InvalidFieldException("infotexts", infotexts + " infotexts for " + batch
                    + " images (give one per image or one for all)");
        }
        if (!request.getPng() && !request.getRawRgb()) {
            throw new InvalidFieldException("png", "neither png nor raw_rgb is requested");
        }
        float[] latents = TensorCodec.toFloats(request.getLatents(), "latents");
        for (float v : latents) {
            if (!Float.isFinite(v)) throw new InvalidFieldException("latents", "contain NaN or infinite values");
        }

        VaeDecoder decoder = request.getTiled() ? model.tiledDecoder() : model.decoder();
        DecodedImages images = decoder.decode(latents, shape, false);
        imagesDecoded.add(batch);
        pixelsDecoded.add((long) batch * images.height() * images.width());

        DecodeResponse.Builder response = DecodeResponse.newBuilder();
        if (request.getPng()) {
            String json = request.getRequestJson().isEmpty() ? null : request.getRequestJson();
            for (int i = 0; i < batch; i++) {
                String parameters = infotexts == 0 ? "" : request.getInfotexts(infotexts == 1 ? 0 : i);
                byte[] png = PngWriter.write(images.rgb(i), images.width(), images.height(),
                        parameters.isEmpty() ? null : parameters, json);
                response.addPngs(ByteString.copyFrom(png));
            }
        }
        if (request.getRawRgb()) {
            response.setRgb(TensorCodec.bytes(images.rgb(), batch, images.height(), images.width(), 3));
        }
        return response.build();
    }

    /** Images decoded so far. */
    public long imagesDecoded() {
        return imagesDecoded.sum();
    }

    /** Pixels of the images decoded so far. */
    public long pixelsDecoded() {
        return pixelsDecoded.sum();
    }
}
