package dev.sdmesh.orchestrator.pipeline;

import java.util.List;

/** The models the mesh serves, as far as the orchestrator needs to know them: ids and default image size. */
public interface ModelCatalog {
    /**
     * @param defaultSize the UNet's {@code sample_size * 8} (512 for SD 1.x)
     * @param scheduler   the model's own scheduler class ({@code scheduler_config.json} {@code _class_name})
     */
    record ModelInfo(String id, int defaultSize, String scheduler) {
    }

    List<ModelInfo> models();

    /** The model for an id; null or blank = the default model (the configured one, else the only/first one). */
    ModelInfo resolve(String id);
}
