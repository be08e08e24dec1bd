package dev.sdmesh.orchestrator.health;

import dev.sdmesh.orchestrator.stage.GrpcStages;
import dev.sdmesh.orchestrator.stage.ReplicaSet;
import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse;
import io.grpc.StatusRuntimeException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

import java.util.concurrent.TimeUnit;

/**
 * Ready when every stage has at least one replica whose {@code grpc.health.v1} check answers SERVING; the data lists
 * each replica's state.
 */
@Readiness
@ApplicationScoped
public class StagesReadiness implements HealthCheck {
    private static final long TIMEOUT_MS = 2000;

    @Inject
    GrpcStages stages;

    @Override
    public org.eclipse.microprofile.health.HealthCheckResponse call() {
        HealthCheckResponseBuilder response = org.eclipse.microprofile.health.HealthCheckResponse.named("sdmesh stages");
        boolean allUp = true;
        for (ReplicaSet set : stages.replicaSets()) {
            boolean stageUp = false;
            for (int i = 0; i < set.addresses().size(); i++) {
                String state = check(set, i);
                response.withData(set.stage() + " " + set.addresses().get(i), state);
                stageUp |= HealthCheckResponse.ServingStatus.SERVING.name().equals(state);
            }
            allUp &= stageUp;
        }
        return response.status(allUp).build();
    }

    private static String check(ReplicaSet set, int replica) {
        try {
            return HealthGrpc.newBlockingStub(set.channels().get(replica))
                    .withDeadlineAfter(TIMEOUT_MS, TimeUnit.MILLISECONDS)
                    .check(HealthCheckRequest.getDefaultInstance())
                    .getStatus().name();
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode().name();
        }
    }
}
