package dev.sdmesh.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Everything one {@code sdmesh bench} measured, rendered as JSON (for tools) and as a markdown report (for people).
 *
 * @param mode  {@code quick} or {@code full}
 * @param notes what was not run, and why, in plain words
 */
public record BenchReport(String startedAt, String mode, MachineInfo machine, List<Floor> floors, List<MeshRun> mesh,
                          List<ThroughputRun> throughput, List<ServiceMemory> memory, List<String> notes) {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @JsonProperty
    public List<Target> targets() {
        return Target.evaluate(mesh, throughput);
    }

    /** Whether any process has a GPU memory figure; the markdown shows the GPU column only then. */
    @JsonProperty
    public boolean gpuMemoryMeasured() {
        return memory.stream().anyMatch(ServiceMemory::gpuMeasured);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("benchmark report does not serialise", e);
        }
    }

    public String toMarkdown() {
        StringBuilder md = new StringBuilder();
        md.append("# sdmesh benchmark (").append(mode).append(", ").append(startedAt).append(")\n\n");
        md.append(String.format(Locale.ROOT, "Machine: %d CPUs (%s), %.1f GiB memory, %s, %s, device %s.%n%n",
                machine.cpus(), machine.cpuModel(), machine.memoryBytes() / 1073741824.0, machine.os(), machine.java(),
                machine.device()));
        floorTable(md);
        meshTable(md);
        throughputTable(md);
        memoryTable(md);
        targetTable(md);
        if (!notes.isEmpty()) {
            md.append("## Notes\n\n");
            notes.forEach(n -> md.append("- ").append(n).append('\n'));
            md.append('\n');
        }
        return md.toString();
    }

    private void floorTable(StringBuilder md) {
        if (floors.isEmpty()) return;
        md.append("## Floor: in-process ONNX Runtime `run`, services' session options (median ms, warm-up excluded)\n\n");
        row(md, "model", "size", "provider", "runs", "text encoder (batch 2)", "UNet batch 1", "UNet batch 2", "VAE decode");
        separator(md, 8);
        for (Floor f : floors) {
            row(md, f.model(), f.width() + "×" + f.height(), f.provider(), Integer.toString(f.unetBatch2().count()),
                    ms(f.textEncoder().median()), ms(f.unetBatch1().median()), ms(f.unetBatch2().median()),
                    ms(f.vaeDecode().median()));
        }
        md.append('\n');
    }

    private void meshTable(StringBuilder md) {
        if (mesh.isEmpty()) return;
        Set<String> stages = new LinkedHashSet<>();
        mesh.forEach(r -> stages.addAll(r.stagesMs().keySet()));
        md.append("## Mesh end to end: request published to Kafka → `completed` event (median ms)\n\n");
        md.append("Stage columns are the orchestrator's `timingsMs` (median over the same runs).\n\n");
        List<String> header = new ArrayList<>(List.of("configuration", "max-batch", "runs", "end to end", "p95"));
        stages.forEach(header::add);
        header.addAll(List.of("floor", "overhead ×", "added ms", "bytes moved"));
        row(md, header.toArray(String[]::new));
        separator(md, header.size());
        for (MeshRun r : mesh) {
            List<String> cells = new ArrayList<>(List.of(r.request().label(), Integer.toString(r.maxBatch()),
                    Integer.toString(r.endToEndMs().count()), ms(r.endToEndMs().median()), ms(r.endToEndMs().p95())));
            for (String stage : stages) {
                Summary s = r.stagesMs().get(stage);
                cells.add(s == null ? "–" : ms(s.median()));
            }
            Overhead o = r.overhead();
            cells.add(o == null ? "–" : ms(o.floorMs()));
            cells.add(o == null ? "–" : String.format(Locale.ROOT, "%.3f", o.ratio()));
            cells.add(o == null ? "–" : ms(o.addedMs()));
            cells.add(bytes(r.transfers()));
            row(md, cells.toArray(String[]::new));
        }
        md.append('\n');
    }

    private void throughputTable(StringBuilder md) {
        if (throughput.isEmpty()) return;
        md.append("## Throughput\n\n");
        row(md, "configuration", "max-batch", "concurrency", "requests", "images/min", "p50 ms", "p95 ms");
        separator(md, 7);
        for (ThroughputRun t : throughput) {
            row(md, t.request().label(), Integer.toString(t.maxBatch()), Integer.toString(t.concurrency()),
                    Integer.toString(t.requests()), String.format(Locale.ROOT, "%.1f", t.imagesPerMinute()),
                    ms(t.latencyMs().p50()), ms(t.latencyMs().p95()));
        }
        md.append('\n');
    }

    private void memoryTable(StringBuilder md) {
        if (memory.isEmpty()) return;
        boolean gpu = gpuMemoryMeasured();
        md.append(gpu ? "## Peak memory per process (RSS: VmHWM; GPU: nvidia-smi, sampled every "
                + GpuMemory.INTERVAL.toMillis() + " ms)\n\n" : "## Peak memory per process (VmHWM)\n\n");
        if (gpu) {
            row(md, "mesh", "process", "peak RSS MiB", "peak GPU MiB");
        } else {
            row(md, "mesh", "process", "peak RSS MiB");
        }
        separator(md, gpu ? 4 : 3);
        for (ServiceMemory m : memory) {
            String rss = m.peakRssBytes() < 0 ? "?" : String.format(Locale.ROOT, "%.0f", m.peakRssBytes() / 1048576.0);
            if (gpu) {
                // "–": this mesh start was not measured (e.g. only the other one saw its processes in nvidia-smi).
                row(md, m.mesh(), m.service(), rss, m.gpuMeasured() ? Long.toString(m.peakGpuMib()) : "–");
            } else {
                row(md, m.mesh(), m.service(), rss);
            }
        }
        md.append('\n');
        if (!gpu) md.append("GPU memory was not measured.\n\n");
    }

    private void targetTable(StringBuilder md) {
        List<Target> targets = targets();
        if (targets.isEmpty()) return;
        md.append("## Targets\n\n");
        row(md, "target", "goal", "measured", "met");
        separator(md, 4);
        for (Target t : targets) {
            row(md, t.name(), t.goal(), String.format(Locale.ROOT, "%.3f", t.measured()), t.met() ? "yes" : "**no**");
        }
        md.append('\n');
    }

    private static String bytes(Transfers t) {
        return String.format(Locale.ROOT, "%.1f KiB (emb %.1f, lat %.1f, png %.1f; ×2 hops)", t.perRequestBytes() / 1024.0,
                t.embeddingsBytes() / 1024.0, t.latentsBytes() / 1024.0, t.pngBytes() / 1024.0);
    }

    private static String ms(double value) {
        return String.format(Locale.ROOT, value < 100 ? "%.1f" : "%.0f", value);
    }

    private static void row(StringBuilder md, String... cells) {
        md.append("| ").append(String.join(" | ", cells)).append(" |\n");
    }

    private static void separator(StringBuilder md, int columns) {
        md.append("|").append("---|".repeat(columns)).append('\n');
    }
}
