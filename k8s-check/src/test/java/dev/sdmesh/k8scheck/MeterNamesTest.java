package dev.sdmesh.k8scheck;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The gauges a service registers, read from its sources under the names Prometheus scrapes. */
class MeterNamesTest {
    @TempDir
    Path dir;

    @Test
    void gaugesAreFoundUnderTheirPrometheusNamesAndOtherMetersAreNot() throws IOException {
        Files.writeString(dir.resolve("Beans.java"), """
                class Beans {
                    void register(MeterRegistry registry) {
                        Gauge.builder("svc.queue.depth", this, Beans::depth).register(registry);
                        registry.gauge("svc.running", new AtomicInteger());
                        Counter.builder("svc.requests").register(registry);
                    }
                }
                """);
        assertEquals(Set.of("svc_queue_depth", "svc_running"), MeterNames.prometheusGauges(dir));
    }
}
