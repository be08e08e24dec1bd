package dev.sdmesh.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One model: a folder in the diffusers ONNX layout ({@code model_index.json}, {@code text_encoder/},
 * {@code unet/}, {@code vae_decoder/}, {@code vae_encoder/}, {@code tokenizer/}, {@code scheduler/}). Parts are checked
 * when asked for, so a service that needs only the VAE works on a folder that has only the VAE.
 */
public final class ModelFolder {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String id;
    private final Path root;

    public ModelFolder(String id, Path root) {
        this.id = id;
        this.root = root;
    }

    public String id() {
        return id;
    }

    public Path root() {
        return root;
    }

    /** The part's folder; a missing one is an error naming the part. */
    public Path part(ModelPart part) {
        Path dir = root.resolve(part.folder());
        if (!Files.isDirectory(dir)) {
            throw new ModelException(ModelException.Kind.BROKEN,
                    "model '" + id + "' has no " + part.folder() + "/ folder (expected at " + dir + ")");
        }
        return dir;
    }

    /** Whether the part's folder exists (e.g. an export without {@code vae_encoder}). */
    public boolean hasPart(ModelPart part) {
        Path dir = root.resolve(part.folder());
        return Files.isDirectory(dir) && (!part.hasOnnx() || Files.isRegularFile(dir.resolve("model.onnx")));
    }

    /** The part's {@code model.onnx} (its external weights, {@code model.onnx_data}, lie beside it). */
    public Path onnx(ModelPart part) {
        if (!part.hasOnnx()) throw new IllegalArgumentException(part + " has no ONNX graph");
        Path file = part(part).resolve("model.onnx");
        if (!Files.isRegularFile(file)) {
            throw new ModelException(ModelException.Kind.BROKEN,
                    "model '" + id + "' part " + part.folder() + " has no model.onnx (expected at " + file + ")");
        }
        return file;
    }

    /** The part's {@code config.json} ({@code scheduler_config.json} for the scheduler). */
    public JsonNode config(ModelPart part) {
        String name = part == ModelPart.SCHEDULER ? "scheduler_config.json" : "config.json";
        return readJson(part(part).resolve(name), part.folder() + "/" + name);
    }

    /** The part's config, or an empty object where the export has none (older exports omit some). */
    public JsonNode configOrEmpty(ModelPart part) {
        Path dir = root.resolve(part.folder());
        String name = part == ModelPart.SCHEDULER ? "scheduler_config.json" : "config.json";
        Path file = dir.resolve(name);
        return Files.isRegularFile(file) ? readJson(file, part.folder() + "/" + name) : JSON.createObjectNode();
    }

    public JsonNode modelIndex() {
        return readJson(root.resolve("model_index.json"), "model_index.json");
    }

    private JsonNode readJson(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new ModelException(ModelException.Kind.BROKEN, "model '" + id + "' has no " + what);
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelException(ModelException.Kind.BROKEN,
                    "model '" + id + "': " + what + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return id + " (" + root + ")";
    }
}
