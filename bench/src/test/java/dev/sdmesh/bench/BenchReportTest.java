package dev.sdmesh.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.sdmesh.bench.OverheadTest.constant;
import static dev.sdmesh.bench.OverheadTest.floor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchReportTest {
    static final ModelGeometry TINY = new ModelGeometry(77, 32, 4, 4, 8, 2);
    static final ModelGeometry SD15 = new ModelGeometry(77, 768, 4, 4, 8, 49407);
    static final RequestSpec TINY_64 = new RequestSpec("tiny", 64, 64, 20, 7.5);
    static final RequestSpec SD15_2 = new RequestSpec("sd15", 512, 512, 2, 7.5);

    static MeshRun run(RequestSpec request, ModelGeometry g, Floor floor, double e2eMs) {
        Map<String, Summary> stages = new LinkedHashMap<>();
        stages.put("textEncoder", constant(5));
        stages.put("unet", constant(e2eMs - 20));
        stages.put("total", constant(e2eMs - 2));
        Summary e2e = constant(e2eMs);
        return new MeshRun(request, 8, e2e, stages, Overhead.of(floor, request, e2e), Transfers.of(g, request, 1000));
    }

    static BenchReport report() {
        return report(List.of(new ServiceMemory("max-batch 8", "unet-svc", 42, 3L << 30, -1)));
    }

    static BenchReport report(List<ServiceMemory> memory) {
        Floor tinyFloor = floor("tiny", 64, 1, 2, 3, 4);          // request floor 1 + 20·3 + 4 = 65 ms
        Floor sd15Floor = floor("sd15", 512, 100, 3000, 5000, 8000); // 2 steps: 18 100 ms
        MeshRun tiny = run(TINY_64, TINY, tinyFloor, 95);         // +30 ms: met
        MeshRun sd15 = run(SD15_2, SD15, sd15Floor, 19_000);      // ×1.0497: missed
        List<ThroughputRun> throughput = List.of(
                new ThroughputRun(TINY_64, 8, 1, 8, 600, constant(100)),
                new ThroughputRun(TINY_64, 8, 8, 24, 900, constant(530)),
                new ThroughputRun(TINY_64, 1, 1, 8, 600, constant(100)),
                new ThroughputRun(TINY_64, 1, 8, 24, 610, constant(780)));
        return new BenchReport("2026-11-22T03:00:00Z", "quick",
                new MachineInfo(2, "Example CPU", 8L << 30, "Linux 6.1", "OpenJDK 17", "cpu"),
                List.of(tinyFloor, sd15Floor), List.of(tiny, sd15), throughput,
                memory,
                List.of("sd15 at 20 steps was not run (--quick)."));
    }

    @Test
    void targetsCompareEachConfigurationWithItsGoal() {
        List<Target> targets = report().targets();
        assertEquals(3, targets.size());
        Target added = targets.get(0);
        assertEquals(30, added.measured(), 1e-9);
        assertTrue(added.met());
        Target overhead = targets.get(1);
        assertEquals(19_000.0 / 18_100.0, overhead.measured(), 1e-12);
        assertFalse(overhead.met());
        Target speedup = targets.get(2);
        assertEquals(1.5, speedup.measured(), 1e-12); // the batching-off rows (max-batch 1) are not compared
        assertTrue(speedup.met());
    }

    @Test
    void markdownHasOneRowPerMeasurementWithItsNumbers() {
        String md = report().toMarkdown();
        assertTrue(md.contains("Machine: 2 CPUs (Example CPU), 8.0 GiB memory"), md);
        assertTrue(md.contains("| sd15 | 512×512 | cpu | 5 | 100 | 3000 | 5000 | 8000 |"), md);
        assertTrue(md.contains("| configuration | max-batch | runs | end to end | p95 | textEncoder | unet | total | floor |"), md);
        assertTrue(md.contains("| tiny 64x64 / 20 steps | 8 | 5 | 95.0 | 95.0 | 5.0 | 75.0 | 93.0 | 65.0 | 1.462 | 30.0 |"), md);
        assertTrue(md.contains("| sd15 512x512 / 2 steps | 8 | 5 | 19000 | 19000 | 5.0 | 18980 | 18998 | 18100 | 1.050 | 900 |"), md);
        assertTrue(md.contains("| tiny 64x64 / 20 steps | 1 | 8 | 24 | 610.0 | 780 | 780 |"), md);
        assertTrue(md.contains("| mesh | process | peak RSS MiB |\n"), md);
        assertTrue(md.contains("| max-batch 8 | unet-svc | 3072 |"), md);
        assertFalse(md.contains("GPU MiB"), md);
        assertTrue(md.contains("GPU memory was not measured."), md);
        assertTrue(md.contains("| overhead sd15 512x512 / 2 steps | ≤ 1.03 | 1.050 | **no** |"), md);
        assertTrue(md.contains("- sd15 at 20 steps was not run (--quick)."), md);
        // every table row has as many cells as its header
        for (String table : md.split("\n\n")) {
            List<String> rows = table.lines().filter(l -> l.startsWith("|")).toList();
            if (rows.isEmpty()) continue;
            long columns = rows.get(0).chars().filter(c -> c == '|').count();
            rows.forEach(r -> assertEquals(columns, r.chars().filter(c -> c == '|').count(), r));
        }
    }

    @Test
    void jsonCarriesDerivedNumbersAndTargets() throws Exception {
        JsonNode json = new ObjectMapper().readTree(report().toJson());
        JsonNode sd15 = json.path("mesh").get(1);
        assertEquals("sd15", sd15.path("request").path("model").asText());
        assertEquals(19_000.0 / 18_100.0, sd15.path("overhead").path("ratio").asDouble(), 1e-12);
        assertEquals(2 * (2L * 77 * 768 * 4 + 4L * 64 * 64 * 4 + 1000), sd15.path("transfers").path("perRequestBytes").asLong());
        assertEquals(18_980, sd15.path("stagesMs").path("unet").path("p50").asDouble(), 1e-9);
        assertEquals(3, json.path("targets").size());
        assertEquals(3L << 30, json.path("memory").get(0).path("peakRssBytes").asLong());
        assertEquals(-1, json.path("memory").get(0).path("peakGpuMib").asLong());
        assertFalse(json.path("gpuMemoryMeasured").asBoolean(true));
        assertEquals("Example CPU", json.path("machine").path("cpuModel").asText());
    }

    @Test
    void gpuColumnAppearsOnlyWhenGpuMemoryWasMeasured() throws Exception {
        BenchReport report = report(List.of(
                new ServiceMemory("max-batch 8", "unet-svc", 42, 3L << 30, 2150),
                new ServiceMemory("max-batch 8", "orchestrator", 43, 256L << 20, 0),
                new ServiceMemory("max-batch 1", "unet-svc", 52, 2L << 30, -1)));
        String md = report.toMarkdown();
        assertTrue(md.contains("| mesh | process | peak RSS MiB | peak GPU MiB |"), md);
        assertTrue(md.contains("| max-batch 8 | unet-svc | 3072 | 2150 |"), md);
        assertTrue(md.contains("| max-batch 8 | orchestrator | 256 | 0 |"), md);
        assertTrue(md.contains("| max-batch 1 | unet-svc | 2048 | – |"), md);
        assertFalse(md.contains("GPU memory was not measured"), md);

        JsonNode json = new ObjectMapper().readTree(report.toJson());
        assertTrue(json.path("gpuMemoryMeasured").asBoolean());
        assertEquals(2150, json.path("memory").get(0).path("peakGpuMib").asLong());
        assertFalse(json.path("memory").get(0).has("gpuMeasured"), "a derived flag is not a field");
    }
}
