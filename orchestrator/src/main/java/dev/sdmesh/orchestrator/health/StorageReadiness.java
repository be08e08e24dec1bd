package dev.sdmesh.orchestrator.health;

import dev.sdmesh.orchestrator.storage.MinioImageStore;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready when the image bucket exists; a bucket missing at start (storage was down) is created here. */
@Readiness
@ApplicationScoped
public class StorageReadiness implements HealthCheck {
    @Inject
    MinioImageStore store;

    @Override
    public HealthCheckResponse call() {
        try {
            store.ensureBucket();
            return HealthCheckResponse.named("storage").up().withData("bucket", store.bucket()).build();
        } catch (RuntimeException e) {
            return HealthCheckResponse.named("storage").down().withData("bucket", store.bucket())
                    .withData("error", String.valueOf(e.getMessage())).build();
        }
    }
}
