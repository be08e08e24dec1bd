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
    private volatile ExecutionProvider resolvedProvider;

    public SessionFactory(SessionSettings settings) {
        this.settings = settings;
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

    /** Opens {@code model.onnx}; external weights ({@code model.onnx_data}) are found beside it by ORT. */
    public OnnxModel open(Path onnxFile) {
        if (!Files.isRegularFile(onnxFile)) {
            throw new ModelException(ModelException.Kind.BROKEN, "no ONNX file at " + onnxFile);
        }
        try {
            OrtSession.SessionOptions options = options(onnxFile);
            OrtSession session = environment.createSession(onnxFile.toString(), options);
            return new OnnxModel(environment, session, options, onnxFile, provider());
        } catch (OrtException e) {
            throw new ModelException(ModelException.Kind.BROKEN,
                    "cannot load ONNX model " + onnxFile + ": " + e.getMessage(), e);
        }
    }

    private OrtSession.SessionOptions options(Path onnxFile) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        if (settings.intraOpThreads() > 0) options.setIntraOpNumThreads(settings.intraOpThreads());
        if (settings.interOpThreads() > 0) options.setInterOpNumThreads(settings.interOpThreads());
        options.setOptimizationLevel(optimizationLevel(settings.optimizationLevel()));
        if (settings.optimizedModelCache() != null) {
            options.setOptimizedModelFilePath(cachePath(onnxFile).toString());
        }
        addProvider(options);
        return options;
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

    private Path cachePath(Path onnxFile) {
        try {
            Files.createDirectories(settings.optimizedModelCache());
        } catch (IOException e) {
            throw new IllegalStateException("cannot create optimised-model cache " + settings.optimizedModelCache(), e);
        }
        // One cached graph per source file and provider: a CUDA-optimised graph does not run on CPU.
        String name = onnxFile.toAbsolutePath().normalize().toString().replaceAll("[^A-Za-z0-9._-]", "_")
                + "." + settings.provider().toString().replace(':', '-') + ".ort.onnx";
        return settings.optimizedModelCache().resolve(name);
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
