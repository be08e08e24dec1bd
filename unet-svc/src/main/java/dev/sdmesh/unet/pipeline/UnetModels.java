package dev.sdmesh.unet.pipeline;

import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.unet.scheduler.SchedulerConfig;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The UNet sessions of this service's device, one per model, opened on first use and kept. */
public final class UnetModels implements AutoCloseable {
    /** A loaded model: its UNet and the scheduler config it was exported with. */
    public record Loaded(UnetModel unet, SchedulerConfig schedulerConfig, int defaultSize) {
    }

    private final ModelRegistry registry;
    private final SessionFactory sessions;
    private final Map<String, Loaded> loaded = new ConcurrentHashMap<>();

    public UnetModels(ModelRegistry registry, SessionFactory sessions) {
        this.registry = registry;
        this.sessions = sessions;
    }

    public ModelRegistry registry() {
        return registry;
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
        var config = folder.config(ModelPart.UNET);
        UnetModel unet = new UnetModel(folder.id(), sessions.open(folder.onnx(ModelPart.UNET)), config);
        int sampleSize = config.path("sample_size").asInt(64);
        return new Loaded(unet, SchedulerConfig.of(folder.config(ModelPart.SCHEDULER)), sampleSize * 8);
    }

    @Override
    public void close() {
        loaded.values().forEach(l -> l.unet().close());
        loaded.clear();
    }
}
