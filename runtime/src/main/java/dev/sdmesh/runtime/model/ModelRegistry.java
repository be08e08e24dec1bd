package dev.sdmesh.runtime.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The models directory ({@code sdmesh.models.dir} / {@code SDMESH_MODELS_DIR}): every sub-folder that holds a
 * {@code model_index.json} is a model, its folder name the model id.
 */
public final class ModelRegistry {
    /** A plain folder name: no separators, no "..", nothing hidden. */
    private static final Pattern VALID_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final Path modelsDir;
    private final String configuredDefault;

    /**
     * @param modelsDir         folder holding one sub-folder per model
     * @param configuredDefault the default model id, or null/blank for "the only model, else the first by name"
     */
    public ModelRegistry(Path modelsDir, String configuredDefault) {
        this.modelsDir = modelsDir.toAbsolutePath().normalize();
        this.configuredDefault = configuredDefault == null || configuredDefault.isBlank() ? null : configuredDefault;
    }

    public Path modelsDir() {
        return modelsDir;
    }

    /** Model ids, sorted. */
    public List<String> ids() {
        if (!Files.isDirectory(modelsDir)) return List.of();
        try (Stream<Path> children = Files.list(modelsDir)) {
            return children.filter(p -> Files.isRegularFile(p.resolve("model_index.json")))
                    .map(p -> p.getFileName().toString())
                    .filter(id -> VALID_ID.matcher(id).matches())
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list models in " + modelsDir, e);
        }
    }

    /** The default model id: the configured one, else the first model by name. */
    public String defaultId() {
        if (configuredDefault != null) return configuredDefault;
        List<String> ids = ids();
        if (ids.isEmpty()) {
            throw new ModelException(ModelException.Kind.NOT_FOUND, "no models in " + modelsDir
                    + " (each model is a diffusers ONNX folder with model_index.json; `sdmesh models generate` makes one)");
        }
        return ids.get(0);
    }

    /** The model with that id; null or blank means the default model. */
    public ModelFolder get(String id) {
        String resolved = id == null || id.isBlank() ? defaultId() : id;
        if (!VALID_ID.matcher(resolved).matches() || resolved.contains("..")) {
            throw new ModelException(ModelException.Kind.INVALID_ID,
                    "model id '" + resolved + "' is not a plain folder name (letters, digits, '.', '_', '-'; at most 128)");
        }
        Path root = modelsDir.resolve(resolved).normalize();
        if (!root.getParent().equals(modelsDir) || !Files.isDirectory(root)) {
            throw new ModelException(ModelException.Kind.NOT_FOUND,
                    "unknown model '" + resolved + "'; available: " + ids());
        }
        if (!Files.isRegularFile(root.resolve("model_index.json"))) {
            throw new ModelException(ModelException.Kind.BROKEN,
                    "model '" + resolved + "' has no model_index.json; is it a diffusers ONNX export?");
        }
        return new ModelFolder(resolved, root);
    }
}
