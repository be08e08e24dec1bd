package dev.sdmesh.orchestrator.e2e;

import dev.sdmesh.runtime.testing.ReferenceData;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.nio.file.Files;
import java.util.Map;

/**
 * Starts the stage services for a {@code @QuarkusTest} on the reference model (model id "model") and points the
 * orchestrator at them. Without the packaged jars or the reference data it starts nothing and the tests skip.
 */
public class StagesTestResource implements QuarkusTestResourceLifecycleManager {
    private StageProcesses stages;

    static boolean runnable() {
        return StageProcesses.available() && Files.isDirectory(ReferenceData.dir().resolve("model"));
    }

    static String skipReason() {
        return !StageProcesses.available() ? StageProcesses.missing()
                : "reference data absent at " + ReferenceData.dir();
    }

    @Override
    public Map<String, String> start() {
        if (!runnable()) return Map.of();
        stages = StageProcesses.start(ReferenceData.dir(), "model");
        return Map.of(
                "sdmesh.stages.text-encoder.addresses", stages.address("text-encoder"),
                "sdmesh.stages.unet.addresses", stages.address("unet"),
                "sdmesh.stages.vae.addresses", stages.address("vae"));
    }

    @Override
    public void stop() {
        if (stages != null) stages.close();
    }
}
