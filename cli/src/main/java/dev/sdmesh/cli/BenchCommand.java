package dev.sdmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.bench.BenchReport;
import dev.sdmesh.bench.Floor;
import dev.sdmesh.bench.FloorBenchmark;
import dev.sdmesh.bench.GpuMemory;
import dev.sdmesh.bench.MachineInfo;
import dev.sdmesh.bench.MeshBenchmark;
import dev.sdmesh.bench.MeshClient;
import dev.sdmesh.bench.MeshRun;
import dev.sdmesh.bench.ModelGeometry;
import dev.sdmesh.bench.RequestSpec;
import dev.sdmesh.bench.ServiceMemory;
import dev.sdmesh.bench.ThroughputRun;
import dev.sdmesh.models.ModelGenerator;
import dev.sdmesh.models.Preset;
import dev.sdmesh.runtime.model.ModelFolder;
import dev.sdmesh.runtime.model.ModelPart;
import dev.sdmesh.runtime.onnx.ExecutionProvider;
import dev.sdmesh.runtime.onnx.SessionFactory;
import dev.sdmesh.runtime.onnx.SessionSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code sdmesh bench}: the in-process ONNX Runtime floor of each model, then the same work end to end through a mesh
 * it starts itself (once with continuous batching, once without), and a report of overhead, throughput and memory.
 * Models are generated once into {@code <state>/bench-models}, apart from the models the user's mesh serves.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark: ONNX Runtime floor, mesh end to end, overhead, throughput, memory (JSON and markdown).")
public final class BenchCommand implements Callable<Integer> {
    private static final int[] CONCURRENCY = {1, 4, 8};
    private static final double GUIDANCE = 7.5;
    private static final String JFR_NAME = "sdmesh-bench";

    @Option(names = "--quick", description = "tiny and sd15 at 2 steps only, 3 repetitions (about 10 minutes on 2 cores).")
    boolean quick;

    @Option(names = "--model", split = ",", defaultValue = "tiny,sd15",
            description = "Generator presets to benchmark (default ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--device", defaultValue = "${env:SDMESH_UNET_DEVICE:-auto}",
            description = "Device for the floor and unet-svc: cpu, auto or cuda:N (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--floor-only", description = "Measure the in-process floor only; start no mesh.")
    boolean floorOnly;

    @Option(names = "--jfr", description = "Record unet-svc with Java Flight Recorder during the batching-on mesh runs.")
    boolean jfr;

    @Option(names = "--out", description = "Folder for the report (default <state>/bench).")
    Path out;

    @Option(names = "--timeout", defaultValue = "1800", description = "Seconds per request and per mesh start (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        MeshLayout user = MeshLayout.fromEnvironment();
        if (!floorOnly) {
            if (MeshState.load(user.stateFile()).filter(MeshState::anyAlive).isPresent()) {
                System.err.println("a mesh is running; stop it with ./sdmesh down (bench starts its own with bench settings)");
                return 2;
            }
            if (!user.missingJars().isEmpty()) {
                System.err.println("services are not built: " + user.missingJars());
                return 2;
            }
        }
        MeshLayout layout = new MeshLayout(user.home(), user.stateDir(), user.stateDir().resolve("bench-models"),
                user.kafkaPort(), user.s3Port(), user.textEncoderPort(), user.unetPort(), user.vaePort(), user.orchestratorPort());
        Path outDir = out != null ? out : user.stateDir().resolve("bench");
        String startedAt = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        List<String> notes = new ArrayList<>();

        SessionFactory sessions = new SessionFactory(
                new SessionSettings(ExecutionProvider.parse(device), 0, 0, "all", null));
        Map<String, ModelFolder> folders = new LinkedHashMap<>();
        for (String model : models) folders.put(model, ensureModel(layout.modelsDir(), model));

        List<Floor> floors = new ArrayList<>();
        List<ServiceMemory> memory = new ArrayList<>();
        long benchPid = ProcessHandle.current().pid();
        // The floor runs in this JVM, so its GPU memory is this process's. "auto" is resolved only by the first session.
        try (GpuMemory floorGpu = GpuMemory.start(device, List.of(benchPid))) {
            for (ModelFolder folder : folders.values()) {
                int size = defaultSize(folder);
                System.err.printf("floor: %s at %dx%d%n", folder.id(), size, size);
                floors.add(new FloorBenchmark(sessions, 1, quick ? 3 : 10).measure(folder, size, size));
            }
            if (floorGpu.measured()) memory.add(ServiceMemory.read("floor", "bench (in-process)", benchPid, floorGpu));
        }
        boolean gpu = sessions.provider().kind() == ExecutionProvider.Kind.CUDA;
        List<RequestSpec> configs = new ArrayList<>();
        for (ModelFolder folder : folders.values()) configs.addAll(configs(folder, gpu));

        List<MeshRun> mesh = new ArrayList<>();
        List<ThroughputRun> throughput = new ArrayList<>();
        if (floorOnly) {
            notes.add("The mesh was not run (--floor-only).");
        } else {
            RequestSpec throughputRequest = configs.get(0);
            for (int maxBatch : new int[]{8, 1}) {
                System.err.printf("mesh: starting with sdmesh.unet.max-batch=%d%n", maxBatch);
                MeshState state = UpCommand.start(layout, 1, device, Map.of("sdmesh.unet.max-batch", Integer.toString(maxBatch)),
                        Duration.ofSeconds(timeoutSeconds));
                List<Long> pids = state.services.stream().map(MeshState.Service::pid).toList();
                try (GpuMemory gpuMemory = GpuMemory.start(sessions.provider().toString(), pids)) {
                    MeshBenchmark bench = new MeshBenchmark(() -> new KafkaMeshClient(state, Duration.ofSeconds(timeoutSeconds)), maxBatch);
                    boolean record = jfr && maxBatch > 1;
                    if (record) jcmd(state, "JFR.start", "name=" + JFR_NAME, "settings=profile");
                    if (maxBatch > 1) {
                        for (RequestSpec config : configs) {
                            System.err.printf("mesh: %s%n", config.label());
                            mesh.add(bench.sequential(config, quick ? 3 : 5, ModelGeometry.of(folders.get(config.model())),
                                    floorFor(floors, config)));
                        }
                    }
                    for (int concurrency : CONCURRENCY) {
                        System.err.printf("throughput: %s, max-batch %d, concurrency %d%n", throughputRequest.label(), maxBatch, concurrency);
                        throughput.add(bench.throughput(throughputRequest, concurrency, (quick ? 3 : 8) * Math.max(2, concurrency)));
                    }
                    if (record) {
                        Path recording = outDir.resolve("unet-svc-" + startedAt.replace(':', '-') + ".jfr");
                        Files.createDirectories(outDir);
                        jcmd(state, "JFR.stop", "name=" + JFR_NAME, "filename=" + recording);
                        notes.add("JFR recording of unet-svc (batching on, all mesh runs): " + recording);
                    }
                    for (MeshState.Service service : state.services) {
                        memory.add(ServiceMemory.read("max-batch " + maxBatch, service.name(), service.pid(), gpuMemory));
                    }
                    String why = gpuMemory.notMeasuredReason().map(r -> "GPU memory was not measured: " + r + ".").orElse(null);
                    if (gpu && why != null && !notes.contains(why)) notes.add(why); // on a CPU device the note below says it
                } finally {
                    DownCommand.stop(state);
                    Files.deleteIfExists(layout.stateFile());
                }
            }
        }
        if (quick) notes.add("--quick: the full-length sd15 run (" + (gpu ? 50 : 20) + " steps) was not made; fewer repetitions.");
        if (!gpu) notes.add("No GPU: GPU memory was not measured.");

        BenchReport report = new BenchReport(startedAt, quick ? "quick" : "full",
                MachineInfo.current(sessions.provider().toString()), floors, mesh, throughput, memory, notes);
        Files.createDirectories(outDir);
        String name = "bench-" + startedAt.replace(':', '-');
        Files.writeString(outDir.resolve(name + ".json"), report.toJson());
        String markdown = report.toMarkdown();
        Files.writeString(outDir.resolve(name + ".md"), markdown);
        System.out.println(markdown);
        System.err.println("report: " + outDir.resolve(name + ".json") + " and .md");
        return 0;
    }

    /** The bench's own copy of a preset, generated on first use (into a temporary folder, so a cut-off run leaves none). */
    private static ModelFolder ensureModel(Path modelsDir, String id) throws Exception {
        Path dir = modelsDir.resolve(id);
        if (!Files.isRegularFile(dir.resolve("model_index.json"))) {
            Path partial = modelsDir.resolve(id + ".partial");
            System.err.println("generating model " + id + " into " + dir + " (once)");
            ModelGenerator.generate(Preset.parse(id), partial, 0L, false, null);
            Files.move(partial, dir, StandardCopyOption.ATOMIC_MOVE);
        }
        return new ModelFolder(id, dir);
    }

    /** The model's native size: UNet sample size × VAE scale factor (64 for tiny, 512 for sd15). */
    private static int defaultSize(ModelFolder folder) {
        return folder.config(ModelPart.UNET).path("sample_size").asInt(64) * ModelGeometry.of(folder).vaeScaleFactor();
    }

    /** tiny: 20 steps; the SD geometries: 2 steps (the mesh's fixed costs weigh most) and a full-length run. */
    private List<RequestSpec> configs(ModelFolder folder, boolean gpu) {
        int size = defaultSize(folder);
        List<Integer> steps = folder.id().equals("tiny") ? List.of(20) : quick ? List.of(2) : List.of(2, gpu ? 50 : 20);
        return steps.stream().map(s -> new RequestSpec(folder.id(), size, size, s, GUIDANCE)).toList();
    }

    private static Floor floorFor(List<Floor> floors, RequestSpec request) {
        return floors.stream().filter(f -> f.model().equals(request.model()) && f.width() == request.width()
                && f.height() == request.height()).findFirst().orElse(null);
    }

    /** Runs a diagnostic command in the unet-svc JVM (JFR needs no restart this way). */
    private static void jcmd(MeshState state, String... command) throws Exception {
        long pid = state.service(UpCommand.unetName(0)).orElseThrow().pid();
        List<String> args = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(pid)));
        args.addAll(List.of(command));
        Process process = new ProcessBuilder(args).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (process.waitFor() != 0) throw new IllegalStateException("jcmd " + String.join(" ", command) + ": " + output);
    }

    /** The Kafka front door, as {@code sdmesh generate} uses it, without a progress bar. */
    private static final class KafkaMeshClient implements MeshClient {
        private final MeshState state;
        private final Duration timeout;
        private final KafkaGenerationClient kafka;
        private final ProgressBar silent = new ProgressBar(new PrintStream(OutputStream.nullOutputStream()));

        KafkaMeshClient(MeshState state, Duration timeout) {
            this.state = state;
            this.timeout = timeout;
            this.kafka = new KafkaGenerationClient(state.kafka);
        }

        @Override
        public JsonNode generate(ObjectNode request) throws Exception {
            return kafka.run(request, silent, timeout);
        }

        @Override
        public long firstImageBytes(JsonNode completed) throws Exception {
            return kafka.download(state, completed.path("requestId").asText(), completed.path("images").get(0)).length;
        }

        @Override
        public void close() {
            kafka.close();
        }
    }
}
