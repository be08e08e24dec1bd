package dev.sdmesh.orchestrator.e2e;

import dev.sdmesh.runtime.testing.ReferenceData;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.nio.file.Files;
import java.util.HashMap;
import java.util.Map;

/**
 * Starts the stage services for a {@code @QuarkusTest} on the reference model (model id "model") and points the
 * orchestrator at them. Without the packaged jars or the reference data it starts nothing and the tests skip. Every
 * service, the orchestrator included, exports its spans to one {@link OtlpReceiver}.
 */
public class StagesTestResource implements QuarkusTestResourceLifecycleManager {
    private StageProcesses stages;
    private OtlpReceiver traces;

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
        traces = OtlpReceiver.start();
        Map<String, String> tracing = Map.of(
                "quarkus.otel.exporter.otlp.traces.endpoint", traces.endpoint(),
                "quarkus.otel.exporter.otlp.traces.protocol", "http/protobuf",
                "quarkus.otel.bsp.schedule.delay", "200ms");
        stages = StageProcesses.start(ReferenceData.dir(), "model", tracing);
        Map<String, String> config = new HashMap<>(tracing);
        config.put("sdmesh.stages.text-encoder.addresses", stages.address("text-encoder"));
        config.put("sdmesh.stages.unet.addresses", stages.address("unet"));
        config.put("sdmesh.stages.vae.addresses", stages.address("vae"));
        return config;
    }

    @Override
    public void stop() {
        if (stages != null) stages.close();
        if (traces != null) traces.close();
    }
}
