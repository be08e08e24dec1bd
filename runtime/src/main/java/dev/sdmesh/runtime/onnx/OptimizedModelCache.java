package dev.sdmesh.runtime.onnx;

import ai.onnxruntime.OrtSession;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Graphs that ORT optimised on an earlier load, kept in a folder so that later loads skip graph optimisation. The file
 * name carries what makes a copy reusable: the source (model and part folder names plus a hash of its absolute path and
 * size), the provider (a CUDA-optimised graph may hold fused nodes only CUDA runs), the optimisation level and the ORT
 * version. A copy is used only while it is newer than its source, so replacing {@code model.onnx} rebuilds it.
 */
final class OptimizedModelCache {
    private static final Logger LOG = Logger.getLogger(OptimizedModelCache.class);

    private final Path dir;
    private final String ortVersion;

    OptimizedModelCache(Path dir, String ortVersion) {
        this.dir = dir;
        this.ortVersion = ortVersion;
    }

    /** Where {@code onnxFile}'s optimised copy lives; null when it is not cached (the reason is logged). */
    Entry entry(Path onnxFile, ExecutionProvider provider, OrtSession.SessionOptions.OptLevel level) throws IOException {
        Path externalData = onnxFile.resolveSibling(onnxFile.getFileName() + "_data");
        if (Files.exists(externalData)) {
            // ORT writes an optimised model as one protobuf, which cannot exceed 2 GB, and models are given external
            // weights precisely because they are that large. Writing the copy with its own external weights
            // (session.optimized_model_external_initializers_file_name) would need a second file published with it.
            LOG.infof("%s: optimised graph not cached: it has external weights (%s), and a single-file optimised copy"
                    + " could exceed protobuf's 2 GB limit", onnxFile, externalData.getFileName());
            return null;
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            LOG.warnf("%s: optimised graph not cached: cannot create %s (%s)", onnxFile, dir, e.getMessage());
            return null;
        }
        if (!Files.isWritable(dir)) {
            LOG.warnf("%s: optimised graph not cached: %s is not writable", onnxFile, dir);
            return null;
        }
        return new Entry(onnxFile, dir.resolve(fileName(onnxFile, provider, level)));
    }

    private String fileName(Path onnxFile, ExecutionProvider provider, OrtSession.SessionOptions.OptLevel level)
            throws IOException {
        Path source = onnxFile.toAbsolutePath().normalize();
        String identity = source + "\n" + Files.size(source);
        return readableName(source) + "-" + sha256(identity).substring(0, 16)
                + "." + provider.toString().replace(':', '-')
                + "." + level.name().toLowerCase(Locale.ROOT)
                + ".ort-" + ortVersion + ".onnx";
    }

    /** {@code <model>-<part>} from the two folders above the file, so that an operator can tell the files apart. */
    private static String readableName(Path source) {
        Path part = source.getParent();
        Path model = part == null ? null : part.getParent();
        String name = (model == null || model.getFileName() == null ? "" : model.getFileName() + "-")
                + (part == null || part.getFileName() == null ? "model" : part.getFileName());
        return name.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** One source graph's optimised copy. */
    record Entry(Path source, Path file) {
        /** Whether the copy exists and was written after its source last changed. */
        boolean isFresh() throws IOException {
            return Files.isRegularFile(file)
                    && Files.getLastModifiedTime(file).compareTo(Files.getLastModifiedTime(source)) > 0;
        }

        /**
         * A new file beside the copy for ORT to write into, so that a reader never sees a half-written copy. Its
         * name must not end in {@code .ort}: ORT would write its own format instead of ONNX.
         */
        Path startWrite() throws IOException {
            return Files.createTempFile(file.getParent(), file.getFileName().toString(), ".partial");
        }

        /** Publishes what ORT wrote into {@code partial}; a failure only costs the next load its optimisation. */
        void finishWrite(Path partial) {
            try {
                if (Files.size(partial) == 0) {
                    LOG.warnf("%s: ORT wrote no optimised graph; not cached", source);
                    return;
                }
                Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                LOG.infof("%s: optimised graph cached as %s", source, file);
            } catch (IOException e) {
                LOG.warnf("%s: optimised graph not cached: %s", source, e.getMessage());
            }
        }
    }
}
