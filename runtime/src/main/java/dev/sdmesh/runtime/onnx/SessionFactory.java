package dev.sdmesh.runtime.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sdmesh.runtime.model.ModelException;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Creates ONNX Runtime sessions with the configured provider. {@code auto} tries CUDA once per factory and falls back
 * to CPU, logging the reason once, so a CPU-only machine runs the same build.
 */
public final class SessionFactory {
    private static final Logger LOG = Logger.getLogger(SessionFactory.class);

    private final OrtEnvironment environment = OrtEnvironment.getEnvironment();
    private final SessionSettings settings;
    private final OrtSession.SessionOptions.OptLevel optimizationLevel;
    private final OptimizedModelCache cache;
    private volatile ExecutionProvider resolvedProvider;

    public SessionFactory(SessionSettings settings) {
        this.settings = settings;
        this.optimizationLevel = optimizationLevel(settings.optimizationLevel());
        this.cache = settings.optimizedModelCache() == null ? null
                : new OptimizedModelCache(settings.optimizedModelCache(), environment.getVersion());
    }

    public OrtEnvironment environment() {
        return environment;
    }

    public SessionSettings settings() {
        return settings;
    }

    /** The provider sessions actually use (auto resolved after the first session). */
    public ExecutionProvider provider() {
        return resolvedProvider != null ? resolvedProvider : settings.provider();
    }

    /**
     * Opens {@code model.onnx}; external weights ({@code model.onnx_data}) are found beside it by ORT. With an
     * optimised-model cache configured, a fresh cached graph is loaded instead, and a missing or stale one is written
     * while the source loads (see {@link OptimizedModelCache}).
     */
    public OnnxModel open(Path onnxFile) {
        if (!Files.isRegularFile(onnxFile)) {
            throw new ModelException(ModelException.Kind.BROKEN, "no ONNX file at " + onnxFile);
        }
        try {
            // Options first: they resolve "auto", and the cache entry is per resolved provider.
            OrtSession.SessionOptions options = options();
            OptimizedModelCache.Entry cached = cache == null ? null : cache.entry(onnxFile, provider(), optimizationLevel);
            if (cached != null && cached.isFresh()) {
                try {
                    // Already optimised: optimising again would only cost start-up time.
                    return load(options, onnxFile, cached.file(), OrtSession.SessionOptions.OptLevel.NO_OPT, null);
                } catch (OrtException e) {
                    LOG.warnf("%s: cached optimised graph %s does not load (%s); rebuilding it", onnxFile,
                            cached.file(), e.getMessage());
                    options = options();
                }
            }
            if (cached == null) return load(options, onnxFile, onnxFile, optimizationLevel, null);
            Path partial = cached.startWrite();
            try {
                OnnxModel model = load(options, onnxFile, onnxFile, optimizationLevel, partial);
                cached.finishWrite(partial);
                return model;
            } finally {
                Files.deleteIfExists(partial);
            }
        } catch (OrtException e) {
            throw new ModelException(ModelException.Kind.BROKEN,
                    "cannot load ONNX model " + onnxFile + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ModelException(ModelException.Kind.BROKEN,
                    "cannot use the optimised-model cache for " + onnxFile + ": " + e.getMessage(), e);
        }
    }

    /** A session on {@code graph} (the source or its cached optimised copy); the options are closed if it fails. */
    private OnnxModel load(OrtSession.SessionOptions options, Path onnxFile, Path graph,
                           OrtSession.SessionOptions.OptLevel level, Path writeOptimizedTo) throws OrtException {
        try {
            options.setOptimizationLevel(level);
            if (writeOptimizedTo != null) options.setOptimizedModelFilePath(writeOptimizedTo.toString());
            OrtSession session = environment.createSession(graph.toString(), options);
            return new OnnxModel(environment, session, options, onnxFile, graph, provider());
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
    }

    /** Threads and provider; the optimisation level depends on which graph is loaded. */
    private OrtSession.SessionOptions options() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            if (settings.intraOpThreads() > 0) options.setIntraOpNumThreads(settings.intraOpThreads());
            if (settings.interOpThreads() > 0) options.setInterOpNumThreads(settings.interOpThreads());
            addProvider(options);
            return options;
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
    }

    private void addProvider(OrtSession.SessionOptions options) throws OrtException {
        ExecutionProvider wanted = settings.provider();
        switch (wanted.kind()) {
            case CPU -> resolvedProvider = ExecutionProvider.CPU;
            case CUDA -> {
                options.addCUDA(wanted.deviceId());
                resolvedProvider = wanted;
            }
            case AUTO -> {
                if (resolvedProvider != null && resolvedProvider.kind() == ExecutionProvider.Kind.CPU) return;
                try {
                    options.addCUDA(wanted.deviceId());
                    if (resolvedProvider == null) LOG.infof("ONNX Runtime provider: CUDA device %d", wanted.deviceId());
                    resolvedProvider = new ExecutionProvider(ExecutionProvider.Kind.CUDA, wanted.deviceId());
                } catch (OrtException | UnsatisfiedLinkError e) {
                    LOG.infof("ONNX Runtime provider: CPU (CUDA not available: %s)", e.getMessage());
                    resolvedProvider = ExecutionProvider.CPU;
                }
            }
        }
    }

    private static OrtSession.SessionOptions.OptLevel optimizationLevel(String level) {
        return switch (level == null ? "all" : level.toLowerCase(Locale.ROOT)) {
            case "none", "disable" -> OrtSession.SessionOptions.OptLevel.NO_OPT;
            case "basic" -> OrtSession.SessionOptions.OptLevel.BASIC_OPT;
            case "extended" -> OrtSession.SessionOptions.OptLevel.EXTENDED_OPT;
            case "all" -> OrtSession.SessionOptions.OptLevel.ALL_OPT;
            default -> throw new IllegalArgumentException(
                    "optimization level '" + level + "' is not one of none, basic, extended, all");
        };
    }
}
