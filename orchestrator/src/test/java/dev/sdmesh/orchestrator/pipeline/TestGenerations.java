package dev.sdmesh.orchestrator.pipeline;

import dev.sdmesh.runtime.model.ModelException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.util.List;

/** {@link Generations} on in-memory parts and one model, "tiny" (64x64, PNDMScheduler), for the pipeline's tests. */
final class TestGenerations {
    static final ModelCatalog.ModelInfo TINY = new ModelCatalog.ModelInfo("tiny", 64, "PNDMScheduler");
    static final String BUCKET = "sdmesh-images";

    static final ModelCatalog CATALOG = new ModelCatalog() {
        @Override
        public List<ModelInfo> models() {
            return List.of(TINY);
        }

        @Override
        public ModelInfo resolve(String id) {
            if (id == null || id.equals("tiny")) return TINY;
            throw new ModelException(ModelException.Kind.NOT_FOUND, "unknown model '" + id + "'");
        }
    };

    private TestGenerations() {
    }

    /** Two workers, at most 100 queued. */
    static Generations of(Stages stages, ImageStore store, StatusStore statuses, EventSink sink, long progressIntervalMs) {
        GenerationMetrics metrics = new GenerationMetrics(new SimpleMeterRegistry());
        GenerationPipeline pipeline = new GenerationPipeline(stages, store, BUCKET, CATALOG, GenerationDefaults.STANDARD, metrics);
        return new Generations(pipeline, statuses, sink, store, metrics, new Generations.Settings(2, 100, progressIntervalMs));
    }
}
