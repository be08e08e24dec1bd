package dev.sdmesh.unet.grpc;

import dev.sdmesh.runtime.health.WarmUp;
import dev.sdmesh.unet.pipeline.DenoiseJob;
import dev.sdmesh.unet.pipeline.DenoiseRun;
import dev.sdmesh.unet.pipeline.UnetEngine;
import dev.sdmesh.unet.pipeline.UnetModels;
import dev.sdmesh.unet.scheduler.Schedulers;
import dev.sdmesh.runtime.random.TorchGenerator;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/** NOT_SERVING (gRPC health) and DOWN (/q/health/ready) until the default model is loaded and one step has run. */
@Readiness
@ApplicationScoped
public class UnetReadiness implements HealthCheck {
    @Inject
    UnetModels models;
    @Inject
    UnetEngine engine;
    @Inject
    GrpcHealthStorage grpcHealth;

    private WarmUp warmUp;

    void onStart(@Observes StartupEvent event) {
        warmUp = new WarmUp("unet-svc", this::warmUpOnce, ready -> {
            ServingStatus status = ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
            grpcHealth.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, status);
            grpcHealth.setStatus("sdmesh.v1.Denoiser", status);
        });
        grpcHealth.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, ServingStatus.NOT_SERVING);
        grpcHealth.setStatus("sdmesh.v1.Denoiser", ServingStatus.NOT_SERVING);
        warmUp.ensureStarted();
    }

    /** One real UNet step through the engine at the smallest size, so the first request does not pay for it. */
    private void warmUpOnce() {
        UnetModels.Loaded model = models.get(null);
        int side = Math.max(8, model.unet().latentSizeMultiple());
        int dim = model.unet().crossAttentionDim();
        DenoiseJob job = new DenoiseJob("warm-up", 1, side, side, new float[77 * dim], null, 77,
                Schedulers.create("DDIMScheduler", model.schedulerConfig(), Map.of()), 1, 1.0f, 0f,
                new TorchGenerator(0), null, 0, null, null, null, 0);
        try {
            engine.submit(new DenoiseRun(job, model.unet()), (done, total, ms) -> { }).result().get(10, TimeUnit.MINUTES);
        } catch (Exception e) {
            throw new IllegalStateException("warm-up step failed: " + e.getMessage(), e);
        }
    }

    @Override
    public HealthCheckResponse call() {
        if (warmUp == null) return HealthCheckResponse.named("unet-model").down().build();
        // A model added to the models directory later is picked up by the next probe.
        warmUp.ensureStarted();
        return HealthCheckResponse.named("unet-model").status(warmUp.ready())
                .withData("state", warmUp.detail()).build();
    }
}
