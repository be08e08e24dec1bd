package dev.sdmesh.textencoder.grpc;

import dev.sdmesh.runtime.health.WarmUp;
import dev.sdmesh.textencoder.pipeline.PromptEncoder;
import dev.sdmesh.textencoder.prompt.PromptChunker.Mode;
import dev.sdmesh.textencoder.service.TextEncoderModels;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import java.util.List;
import java.util.concurrent.TimeUnit;

/** NOT_SERVING (gRPC health) and DOWN (/q/health/ready) until the default model is loaded and one encode has run. */
@Readiness
@ApplicationScoped
public class TextEncoderReadiness implements HealthCheck {
    static final String SERVICE = "sdmesh.v1.TextEncoder";

    @Inject
    TextEncoderModels models;
    @Inject
    GrpcHealthStorage grpcHealth;

    private WarmUp warmUp;

    void onStart(@Observes StartupEvent event) {
        warmUp = new WarmUp("text-encoder-svc", this::warmUpOnce, ready -> setStatus(ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING));
        setStatus(ServingStatus.NOT_SERVING);
        warmUp.ensureStarted();
    }

    private void setStatus(ServingStatus status) {
        grpcHealth.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, status);
        grpcHealth.setStatus(SERVICE, status);
    }

    /** One real encode through the default model's batcher, so the first request does not pay for it. */
    private void warmUpOnce() {
        PromptEncoder.Request request = new PromptEncoder.Request(List.of(""), null, true, Mode.A1111, 1);
        try {
            models.get(null).batcher().submit(request).get(10, TimeUnit.MINUTES);
        } catch (Exception e) {
            throw new IllegalStateException("warm-up encode failed: " + e.getMessage(), e);
        }
    }

    @Override
    public HealthCheckResponse call() {
        if (warmUp == null) return HealthCheckResponse.named("text-encoder-model").down().build();
        // A model added to the models directory later is picked up by the next probe.
        warmUp.ensureStarted();
        return HealthCheckResponse.named("text-encoder-model").status(warmUp.ready())
                .withData("state", warmUp.detail()).build();
    }
}
