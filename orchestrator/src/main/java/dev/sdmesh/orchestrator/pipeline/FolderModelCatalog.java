package dev.sdmesh.orchestrator.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.model.ModelRegistry;

import java.nio.file.Files;
import java.util.List;

/**
 * Models read from the shared models directory (the stages' {@code sdmesh.models.dir}). An orchestrator without access
 * to it knows no models: requests then go to the stages' default model with a 512x512 default size.
 */
public final class FolderModelCatalog implements ModelCatalog {
    static final int FALLBACK_SIZE = 512;

    private final ModelRegistry registry;

    public FolderModelCatalog(ModelRegistry registry) {
        this.registry = registry;
    }

    @Override
    public List<ModelInfo> models() {
        return registry.ids().stream().map(id -> info(registry.get(id))).toList();
    }

    @Override
    public ModelInfo resolve(String id) {
        if (!Files.isDirectory(registry.modelsDir()) || registry.ids().isEmpty()) {
            return new ModelInfo(id == null ? "" : id, FALLBACK_SIZE, null);
        }
        return info(registry.get(id));
    }

    /** diffusers' default size: {@code unet.config.sample_size * vae_scale_factor} (8 for SD). */
    private static ModelInfo info(ModelFolder folder) {
        JsonNode unet = folder.configOrEmpty(ModelPart.UNET);
        int size = unet.has("sample_size") && unet.get("sample_size").isInt() ? unet.get("sample_size").asInt() * 8 : FALLBACK_SIZE;
        JsonNode scheduler = folder.configOrEmpty(ModelPart.SCHEDULER);
        String schedulerClass = scheduler.has("_class_name") ? scheduler.get("_class_name").asText() : null;
        return new ModelInfo(folder.id(), size, schedulerClass);
    }
}
