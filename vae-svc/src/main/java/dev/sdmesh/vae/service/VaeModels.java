package dev.sdmesh.vae.service;

import dev.sdmesh.runtime.model.ModelException;
import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.onnx.OnnxModel;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.vae.pipeline.Float32Copy;
import dev.sdmesh.vae.pipeline.Tiling;
import dev.sdmesh.vae.pipeline.VaeConfig;
import dev.sdmesh.vae.pipeline.VaeDecoder;
import dev.sdmesh.vae.pipeline.VaeEncoder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The VAE sessions of this service's device, one set per model, opened on first use and kept.
 *
 * <p>A float16 decoder that overflows is decoded again in float32: on {@value #FLOAT32_DECODER_FOLDER}/model.onnx
 * where the export carries one, else on a float32 copy of the float16 graph built in memory ({@link Float32Copy}).
 * Either is opened only on the first overflow, so a model that never overflows costs nothing extra.
 */
public final class VaeModels implements AutoCloseable {
    /** Sub-folder of a model that holds the float32 decoder used when the float16 one overflows, if it has one. */
    public static final String FLOAT32_DECODER_FOLDER = "vae_decoder_fp32";

    /**
     * A loaded model.
     *
     * @param decoder      tiles only above the configured threshold
     * @param tiledDecoder always tiles (for requests that ask for it); shares the decoder's sessions
     * @param encoder      null when the export has no {@code vae_encoder}
     */
    public record Loaded(String id, VaeConfig config, VaeDecoder decoder, VaeDecoder tiledDecoder, VaeEncoder encoder) {

        /** The encoder, or a BROKEN-model error for a decoder-only export. */
        public VaeEncoder requireEncoder() {
            if (encoder == null) {
                throw new ModelException(ModelException.Kind.BROKEN, "model '" + id + "' has no vae_encoder; it can only decode");
            }
            return encoder;
        }
    }

    private final ModelRegistry registry;
    private final SessionFactory sessions;
    private final Tiling tiling;
    private final Map<String, Loaded> loaded = new ConcurrentHashMap<>();
    private final List<OnnxModel> opened = new ArrayList<>();

    /** @param tiling when and how to decode in tiles (its threshold applies unless a request forces tiling) */
    public VaeModels(ModelRegistry registry, SessionFactory sessions, Tiling tiling) {
        this.registry = registry;
        this.sessions = sessions;
        this.tiling = tiling;
    }

    public SessionFactory sessions() {
        return sessions;
    }

    /** The model for an id (blank = default), loading it on first use. */
    public Loaded get(String modelId) {
        ModelFolder folder = registry.get(modelId);
        return loaded.computeIfAbsent(folder.id(), id -> load(folder));
    }

    private Loaded load(ModelFolder folder) {
        VaeConfig config = VaeConfig.from(folder.config(ModelPart.VAE_DECODER));
        Path decoderFile = folder.onnx(ModelPart.VAE_DECODER);
        OnnxModel decoderModel = open(decoderFile);
        Path float32File = folder.root().resolve(FLOAT32_DECODER_FOLDER).resolve("model.onnx");
        Supplier<OnnxModel> fallback = Files.isRegularFile(float32File) ? new Lazy(() -> open(float32File))
                : new Lazy(() -> track(Float32Copy.open(sessions, decoderFile)));
        VaeEncoder encoder = folder.hasPart(ModelPart.VAE_ENCODER)
                ? new VaeEncoder(open(folder.onnx(ModelPart.VAE_ENCODER)), VaeConfig.from(folder.config(ModelPart.VAE_ENCODER)))
                : null;
        return new Loaded(folder.id(), config, new VaeDecoder(decoderModel, config, tiling, fallback),
                new VaeDecoder(decoderModel, config, tiling.always(), fallback), encoder);
    }

    private OnnxModel open(Path file) {
        return track(sessions.open(file));
    }

    /** Keeps {@code model} to close with the others. */
    private OnnxModel track(OnnxModel model) {
        synchronized (opened) {
            opened.add(model);
        }
        return model;
    }

    /** Opens once, on first need, for both decoders of a model. */
    private static final class Lazy implements Supplier<OnnxModel> {
        private final Supplier<OnnxModel> open;
        private OnnxModel model;

        Lazy(Supplier<OnnxModel> open) {
            this.open = open;
        }

        @Override
        public synchronized OnnxModel get() {
            if (model == null) model = open.get();
            return model;
        }
    }

    @Override
    public void close() {
        loaded.clear();
        synchronized (opened) {
            opened.forEach(OnnxModel::close);
            opened.clear();
        }
    }
}
