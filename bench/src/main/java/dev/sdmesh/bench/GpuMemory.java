package dev.sdmesh.bench;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Peak GPU memory of a set of processes over a benchmark session, read from {@code nvidia-smi}.
 * <p>
 * The driver keeps no high-water mark per process (nothing like {@code VmHWM}), so {@code nvidia-smi} is sampled every
 * {@link #INTERVAL} on a daemon thread and the largest value seen is kept. ONNX Runtime's CUDA arena grows and does not
 * shrink by default, so a sampled peak is close to the true one.
 * <p>
 * Nothing is sampled on a {@code cpu} device or without {@code nvidia-smi} on the PATH. A session in which
 * {@code nvidia-smi} never listed any of the processes also counts as not measured: on a GPU device a service holding
 * a CUDA context is always listed, so seeing none means {@code nvidia-smi} cannot see them (a container's PID
 * namespace), and reporting 0 would be a made-up number.
 */
public final class GpuMemory implements AutoCloseable {
    static final Duration INTERVAL = Duration.ofMillis(500);
    /** A hung {@code nvidia-smi} (a driver busy resetting) skips one sample instead of stalling the sampler. */
    private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(10);
    private static final String EXECUTABLE = "nvidia-smi";

    private final Set<Long> pids;
    private final Callable<String> query;
    private final String notSampledReason;
    private final Map<Long, Long> peakMib = new ConcurrentHashMap<>();
    private volatile int answeredQueries;
    private volatile String lastFailure;
    private ScheduledExecutorService sampler;

    GpuMemory(Collection<Long> pids, Callable<String> query, String notSampledReason) {
        this.pids = Set.copyOf(pids);
        this.query = query;
        this.notSampledReason = notSampledReason;
    }

    /**
     * Starts sampling the GPU memory of {@code pids} until {@link #close()}, or returns a sampler that records nothing
     * (and says why) when the device is {@code cpu} or there is no {@code nvidia-smi} on the PATH.
     *
     * @param device the bench's device as the report names it ({@code cpu}, {@code cuda:N}, {@code auto})
     */
    public static GpuMemory start(String device, Collection<Long> pids) {
        return start(device, pids, System.getenv("PATH"));
    }

    static GpuMemory start(String device, Collection<Long> pids, String pathVariable) {
        if ("cpu".equalsIgnoreCase(device.trim())) return new GpuMemory(pids, null, "the device is cpu");
        Optional<Path> nvidiaSmi = onPath(pathVariable, EXECUTABLE);
        if (nvidiaSmi.isEmpty()) return new GpuMemory(pids, null, "no " + EXECUTABLE + " on the PATH");
        GpuMemory gpu = new GpuMemory(pids, () -> computeApps(nvidiaSmi.get()), null);
        gpu.sampler = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "gpu-memory-sampler");
            thread.setDaemon(true); // a sampler left running must not keep the bench's JVM alive
            return thread;
        });
        gpu.sampler.scheduleWithFixedDelay(gpu::sampleOnce, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        return gpu;
    }

    /** Whether {@code nvidia-smi} listed at least one of the processes; otherwise there are no numbers to report. */
    public boolean measured() {
        return !peakMib.isEmpty();
    }

    /** The most GPU memory {@code nvidia-smi} listed for the process; 0 if it never held any; -1 when not measured. */
    public long peakMib(long pid) {
        return measured() ? peakMib.getOrDefault(pid, 0L) : -1;
    }

    /** Why there are no GPU numbers, in plain words for the report's notes; empty when measured. */
    public Optional<String> notMeasuredReason() {
        if (notSampledReason != null) return Optional.of(notSampledReason);
        if (measured()) return Optional.empty();
        if (answeredQueries == 0 && lastFailure != null) return Optional.of(EXECUTABLE + " failed: " + lastFailure);
        return Optional.of(EXECUTABLE + " listed none of the processes (they held no GPU memory, or run in a PID "
                + "namespace it does not see)");
    }

    /** One query: each watched process's current use raises its peak. A failed query is skipped, not fatal. */
    void sampleOnce() {
        try {
            Map<Long, Long> current = parseComputeApps(query.call());
            answeredQueries++;
            current.forEach((pid, mib) -> {
                if (pids.contains(pid)) peakMib.merge(pid, mib, Math::max);
            });
        } catch (Exception e) {
            // An exception would cancel the scheduled sampling for the rest of the session.
            lastFailure = e.getMessage();
        }
    }

    @Override
    public void close() {
        if (sampler == null) return;
        sampler.shutdownNow();
        try {
            sampler.awaitTermination(QUERY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Used MiB per pid from {@code nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits}.
     * A process on several GPUs has one line per GPU, summed here. Lines that are not {@code pid, MiB} are skipped:
     * blanks, {@code [N/A]} (MIG and some drivers hide per-process use), {@code No running processes found}.
     */
    static Map<Long, Long> parseComputeApps(String output) {
        Map<Long, Long> mib = new HashMap<>();
        for (String line : output.split("\n")) {
            String[] fields = line.split(",");
            if (fields.length != 2) continue;
            try {
                long pid = Long.parseLong(fields[0].trim());
                long used = Long.parseLong(fields[1].trim());
                if (pid > 0 && used >= 0) mib.merge(pid, used, Long::sum);
            } catch (NumberFormatException e) {
                // not a pid and a number of MiB: nothing to record
            }
        }
        return mib;
    }

    /** The first executable file called {@code name} in the directories of a PATH value. */
    static Optional<Path> onPath(String pathVariable, String name) {
        if (pathVariable == null) return Optional.empty();
        for (String dir : pathVariable.split(File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            Path candidate = Path.of(dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) return Optional.of(candidate);
        }
        return Optional.empty();
    }

    private static String computeApps(Path nvidiaSmi) throws Exception {
        Process process = new ProcessBuilder(nvidiaSmi.toString(), "--query-compute-apps=pid,used_memory",
                "--format=csv,noheader,nounits")
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        // The output is a few lines, far below a pipe's buffer, so waiting before reading cannot deadlock.
        if (!process.waitFor(QUERY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException(nvidiaSmi + " did not answer within " + QUERY_TIMEOUT.toSeconds() + " s");
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IllegalStateException(nvidiaSmi + " exited with " + process.exitValue() + ": " + output.trim());
        }
        return output;
    }
}
