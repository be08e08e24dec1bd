package dev.sdmesh.vae.grpc;

import dev.sdmesh.runtime.health.WarmUp;
import dev.sdmesh.vae.service.VaeModels;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** NOT_SERVING (gRPC health) and DOWN (/q/health/ready) until the default model is loaded and one decode has run. */
@Readiness
@ApplicationScoped
public class VaeReadiness implements HealthCheck {
    private static final String SERVICE = "sdmesh.v1.Vae";

    @Inject
    VaeModels models;
    @Inject
    GrpcHealthStorage grpcHealth;

    private WarmUp warmUp;

    void onStart(@Observes StartupEvent event) {
        warmUp = new WarmUp("vae-svc", this::warmUpOnce, ready -> setStatus(ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING));
        setStatus(ServingStatus.NOT_SERVING);
        warmUp.ensureStarted();
    }

    private void setStatus(ServingStatus status) {
        grpcHealth.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, status);
        grpcHealth.setStatus(SERVICE, status);
    }

    /** One real decode of the smallest latent, so the first request does not pay for session start-up. */
    private void warmUpOnce() {
        VaeModels.Loaded model = models.get(null);
        int channels = model.config().latentChannels();
        model.decoder().decode(new float[channels], new long[]{1, channels, 1, 1}, false);
    }

    @Override
    public HealthCheckResponse call() {
        if (warmUp == null) return HealthCheckResponse.named("vae-model").down().build();
        // A model added to the models directory later is picked up by the next probe.
        warmUp.ensureStarted();
        return HealthCheckResponse.named("vae-model").status(warmUp.ready()).withData("state", warmUp.detail()).build();
    }
}
