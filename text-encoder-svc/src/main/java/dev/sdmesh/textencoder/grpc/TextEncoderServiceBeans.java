package dev.sdmesh.textencoder.grpc;

import dev.sdmesh.runtime.model.ModelRegistry;
import dev.sdmesh.runtime.onnx.ExecutionProvider;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import dev.sdmesh.textencoder.service.PromptLimits;
import dev.sdmesh.textencoder.service.TextEncoderModels;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.nio.file.Path;
import java.util.Optional;

/** Wires the plain-Java text encoder from configuration, with its metrics. */
@ApplicationScoped
public class TextEncoderServiceBeans {

    @Produces
    @Singleton
    TextEncoderModels models(@ConfigProperty(name = "sdmesh.models.dir") Path modelsDir,
                             @ConfigProperty(name = "sdmesh.models.default") Optional<String> defaultModel,
                             @ConfigProperty(name = "sdmesh.embeddings.dir") Path embeddingsDir,
                             @ConfigProperty(name = "sdmesh.text-encoder.device") String device,
                             @ConfigProperty(name = "sdmesh.text-encoder.intra-op-threads") int threads,
                             @ConfigProperty(name = "sdmesh.text-encoder.optimization-level", defaultValue = "all") String optimization,
                             @ConfigProperty(name = "sdmesh.text-encoder.optimized-model-cache") Optional<Path> optimizedModelCache,
                             @ConfigProperty(name = "sdmesh.text-encoder.max-batch") int maxBatch,
                             @ConfigProperty(name = "sdmesh.text-encoder.batch-wait-ms", defaultValue = "0") long batchWaitMillis,
                             MeterRegistry metrics) {
        SessionSettings settings = new SessionSettings(ExecutionProvider.parse(device), threads, 0, optimization,
                optimizedModelCache.orElse(null));
        Counter encodes = Counter.builder("sdmesh.text_encoder.encodes")
                .description("Encode requests answered by the text encoder").register(metrics);
        DistributionSummary batchSize = DistributionSummary.builder("sdmesh.text_encoder.batch.size")
                .description("Encode requests merged into one text-encoder run").register(metrics);
        TextEncoderModels models = new TextEncoderModels(new ModelRegistry(modelsDir, defaultModel.orElse(null)),
                new SessionFactory(settings), embeddingsDir, maxBatch, batchWaitMillis, requests -> {
            encodes.increment(requests);
            batchSize.record(requests);
        });
        FunctionCounter.builder("sdmesh.text_encoder.runs", models, TextEncoderModels::runs)
                .description("text-encoder graph runs").register(metrics);
        return models;
    }

    void close(@Disposes TextEncoderModels models) {
        models.close();
    }

    @Produces
    @Singleton
    EncodeRequestMapper mapper(@ConfigProperty(name = "sdmesh.text-encoder.max-prompt-chars") int maxPromptChars,
                               @ConfigProperty(name = "sdmesh.text-encoder.max-chunks") int maxChunks) {
        return new EncodeRequestMapper(new PromptLimits(maxPromptChars, maxChunks));
    }
}
