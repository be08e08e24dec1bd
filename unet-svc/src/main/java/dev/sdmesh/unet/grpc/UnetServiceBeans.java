package dev.sdmesh.unet.grpc;

import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.onnx.ExecutionProvider;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.unet.pipeline.UnetEngine;
import dev.sdmesh.unet.pipeline.UnetModels;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.nio.file.Path;
import java.util.Optional;

/** Wires the plain-Java pipeline from configuration. */
@ApplicationScoped
public class UnetServiceBeans {

    @Produces
    @Singleton
    UnetModels models(@ConfigProperty(name = "sdmesh.models.dir") Path modelsDir,
                      @ConfigProperty(name = "sdmesh.models.default") Optional<String> defaultModel,
                      @ConfigProperty(name = "sdmesh.unet.device") String device,
                      @ConfigProperty(name = "sdmesh.unet.intra-op-threads") int threads,
                      @ConfigProperty(name = "sdmesh.unet.optimization-level") String optimization,
                      @ConfigProperty(name = "sdmesh.unet.optimized-model-cache") Optional<Path> optimizedModelCache) {
        SessionSettings settings = new SessionSettings(ExecutionProvider.parse(device), threads, 0, optimization,
                optimizedModelCache.orElse(null));
        return new UnetModels(new ModelRegistry(modelsDir, defaultModel.orElse(null)), new SessionFactory(settings));
    }

    void close(@Disposes UnetModels models) {
        models.close();
    }

    @Produces
    @Singleton
    UnetEngine engine(@ConfigProperty(name = "sdmesh.unet.max-batch") int maxBatch,
                      @ConfigProperty(name = "sdmesh.unet.batch-wait-ms") long batchWaitMillis, UnetModels models,
                      MeterRegistry metrics) {
        UnetEngine engine = new UnetEngine(models.sessions().settings().provider().toString(), maxBatch, batchWaitMillis);
        String device = models.sessions().settings().provider().toString();
        Gauge.builder("sdmesh.unet.queue.depth", engine, UnetEngine::queueDepth)
                .description("denoising requests waiting or running").tag("device", device).register(metrics);
        Gauge.builder("sdmesh.unet.batch.rows", engine, UnetEngine::lastBatchRows)
                .description("rows in the latest UNet call").tag("device", device).register(metrics);
        FunctionCounter.builder("sdmesh.unet.steps", engine, UnetEngine::stepsDone)
                .description("denoising steps done (per request)").tag("device", device).register(metrics);
        FunctionCounter.builder("sdmesh.unet.calls", engine, UnetEngine::unetCalls)
                .description("UNet graph runs").tag("device", device).register(metrics);
        return engine;
    }

    void close(@Disposes UnetEngine engine) {
        engine.close();
    }

    @Produces
    @Singleton
    DenoiseRequestMapper mapper(@ConfigProperty(name = "sdmesh.unet.max-size") int maxSize) {
        return new DenoiseRequestMapper(maxSize);
    }
}
