package dev.sdmesh.textencoder.service;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.runtime.model.ModelException;
import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.onnx.ExecutionProvider;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.textencoder.embedding.TextualInversionLibrary;
import dev.sdmesh.textencoder.pipeline.FinalLayerNorm;
import dev.sdmesh.textencoder.pipeline.PromptEncoder;
import dev.sdmesh.textencoder.pipeline.TokenEmbeddingPatch;
import dev.sdmesh.textencoder.prompt.PromptChunker;
import dev.sdmesh.textencoder.tokenizer.ClipTokenizer;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The text encoders of this service, one per model: tokenizer, textual inversions from the embeddings folder, the
 * ONNX session and its {@link EncodeBatcher}, opened on first use and kept until {@link #close()}.
 */
public final class TextEncoderModels implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(TextEncoderModels.class);

    /** A loaded text encoder. Requests go through {@link #batcher()}; {@link #chunker()} sees the same embeddings. */
    public static final class Loaded implements AutoCloseable {
        private final ClipTokenizer tokenizer;
        private final PromptChunker chunker;
        private final EncodeBatcher batcher;
        /** Closed in reverse order of opening: the batcher before the session, the session before its patch. */
        private final Deque<AutoCloseable> resources;

        private Loaded(ClipTokenizer tokenizer, PromptChunker chunker, EncodeBatcher batcher, Deque<AutoCloseable> resources) {
            this.tokenizer = tokenizer;
            this.chunker = chunker;
            this.batcher = batcher;
            this.resources = resources;
        }

        public ClipTokenizer tokenizer() {
            return tokenizer;
        }

        public PromptChunker chunker() {
            return chunker;
        }

        public EncodeBatcher batcher() {
            return batcher;
        }

        @Override
        public void close() {
            closeAll(resources);
        }
    }

    private final ModelRegistry registry;
    private final SessionFactory sessions;
    private final Path embeddingsDir;
    private final int maxBatch;
    private final long batchWaitMillis;
    private final EncodeBatcher.Listener listener;
    private final Map<String, Loaded> loaded = new ConcurrentHashMap<>();

    /**
     * @param embeddingsDir textual inversions ({@code .safetensors}, the file stem is the prompt name); may not exist
     * @param listener      told of every text-encoder run of every model
     */
    public TextEncoderModels(ModelRegistry registry, SessionFactory sessions, Path embeddingsDir,
                             int maxBatch, long batchWaitMillis, EncodeBatcher.Listener listener) {
        this.registry = registry;
        this.sessions = sessions;
        this.embeddingsDir = embeddingsDir;
        this.maxBatch = maxBatch;
        this.batchWaitMillis = batchWaitMillis;
        this.listener = listener;
    }

    /** The text encoder for a model id (blank = default), loading it on first use. */
    public Loaded get(String modelId) {
        ModelFolder folder = registry.get(modelId);
        return loaded.computeIfAbsent(folder.id(), id -> load(folder));
    }

    private Loaded load(ModelFolder folder) {
        Deque<AutoCloseable> resources = new ArrayDeque<>();
        try {
            ClipTokenizer tokenizer = ClipTokenizer.load(folder.part(ModelPart.TOKENIZER));
            Path onnx = folder.onnx(ModelPart.TEXT_ENCODER);
            TextualInversionLibrary library = TextualInversionLibrary.load(embeddingsDir, tokenizer, hiddenSize(folder, onnx));
            library.warnings().forEach(w -> LOG.warnf("model %s: %s", folder.id(), w));
            FinalLayerNorm finalLayerNorm = finalLayerNorm(folder, onnx);
            PromptEncoder encoder;
            if (library.isEmpty()) {
                var model = sessions.open(onnx);
                resources.push(model);
                encoder = new PromptEncoder(model.session(), tokenizer, library, null, finalLayerNorm);
            } else {
                TokenEmbeddingPatch patch = TokenEmbeddingPatch.create(onnx, library, tokenizer);
                resources.push(patch);
                encoder = new PromptEncoder(openPatched(onnx, patch, resources), tokenizer, library, patch, finalLayerNorm);
                LOG.infof("model %s: textual inversions %s", folder.id(),
                        library.embeddings().stream().map(TextualInversionLibrary.Embedding::name).toList());
            }
            EncodeBatcher batcher = new EncodeBatcher(folder.id(), encoder::encodeAll, maxBatch, batchWaitMillis, listener);
            resources.push(batcher);
            return new Loaded(tokenizer, new PromptChunker(tokenizer, library), batcher, resources);
        } catch (IOException | OrtException | RuntimeException e) {
            closeAll(resources);
            if (e instanceof ModelException model) throw model;
            throw new ModelException(ModelException.Kind.BROKEN,
                    "model '" + folder.id() + "': cannot load the text encoder: " + e.getMessage(), e);
        }
    }

    /** The text encoder's width, from its config; older exports without one are read from the graph. */
    private static int hiddenSize(ModelFolder folder, Path onnx) throws IOException {
        int configured = folder.configOrEmpty(ModelPart.TEXT_ENCODER).path("hidden_size").asInt(0);
        return configured > 0 ? configured : TokenEmbeddingPatch.readTable(onnx).hidden();
    }

    /**
     * The final LayerNorm that clip skip applies, or null (clip skip above 1 is then rejected per request) when the
     * export lacks it or it cannot be read; a model stays usable without clip skip, so that is only logged.
     */
    private static FinalLayerNorm finalLayerNorm(ModelFolder folder, Path onnx) {
        double eps = folder.configOrEmpty(ModelPart.TEXT_ENCODER).path("layer_norm_eps").asDouble(FinalLayerNorm.DEFAULT_EPS);
        try {
            return FinalLayerNorm.read(onnx, eps).orElse(null);
        } catch (IOException | IllegalArgumentException e) {
            LOG.warnf("model %s: clip skip unavailable, cannot read the text encoder's final LayerNorm: %s", folder.id(), e.getMessage());
            return null;
        }
    }

    /**
     * A session whose token-embedding table is the patched one. {@link SessionFactory} offers no way to add an
     * initializer, so its thread and provider settings are applied here. The optimised-model cache is left out on
     * purpose: a cached graph would bake in one set of embeddings.
     */
    private OrtSession openPatched(Path onnx, TokenEmbeddingPatch patch, Deque<AutoCloseable> resources) throws OrtException {
        SessionSettings settings = sessions.settings();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        resources.push(options);
        if (settings.intraOpThreads() > 0) options.setIntraOpNumThreads(settings.intraOpThreads());
        if (settings.interOpThreads() > 0) options.setInterOpNumThreads(settings.interOpThreads());
        ExecutionProvider provider = sessions.provider();
        if (provider.kind() != ExecutionProvider.Kind.CPU) {
            try {
                options.addCUDA(provider.deviceId());
            } catch (OrtException | UnsatisfiedLinkError e) {
                if (provider.kind() == ExecutionProvider.Kind.CUDA) throw e;
                LOG.infof("textual-inversion session on CPU (CUDA not available: %s)", e.getMessage());
            }
        }
        patch.addTo(options);
        OrtSession session = sessions.environment().createSession(onnx.toString(), options);
        resources.push(session);
        return session;
    }

    /** Text-encoder runs so far over all loaded models. */
    public long runs() {
        return loaded.values().stream().mapToLong(l -> l.batcher().runs()).sum();
    }

    @Override
    public void close() {
        loaded.values().forEach(Loaded::close);
        loaded.clear();
    }

    private static void closeAll(Deque<AutoCloseable> resources) {
        while (!resources.isEmpty()) {
            try {
                resources.pop().close();
            } catch (Exception e) {
                LOG.warnf("closing text encoder resource: %s", e.getMessage());
            }
        }
    }
}
