package dev.sdmesh.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GpuMemoryTest {

    @Test
    void computeAppsAreReadAsPidAndMib() {
        String output = "12345, 1536\n\n  678 ,20\n";
        assertEquals(Map.of(12345L, 1536L, 678L, 20L), GpuMemory.parseComputeApps(output));
    }

    @Test
    void linesThatAreNotPidAndMibAreSkipped() {
        String output = String.join("\n",
                "No running processes found",
                "",
                "   ",
                "999, [N/A]",
                "[N/A], 100",
                "pid, used_memory",
                "1, 2, 3",
                "-5, 10",
                "42, 7 MiB",
                "4242, 300");
        assertEquals(Map.of(4242L, 300L), GpuMemory.parseComputeApps(output));
        assertEquals(Map.of(), GpuMemory.parseComputeApps(""));
    }

    @Test
    void aProcessOnSeveralGpusIsTheSumOfItsLines() {
        assertEquals(Map.of(7L, 1500L), GpuMemory.parseComputeApps("7, 1000\r\n7, 500\r\n"));
    }

    @Test
    void keepsThePeakOfEachWatchedProcessAndIgnoresOthers() {
        GpuMemory gpu = scripted(List.of(100L, 200L, 300L),
                "100, 1000\n200, 50\n999, 70000\n",
                "100, 3000\n",                      // 200 released its memory: its peak stays
                "100, 2000\n200, 40\n");
        for (int i = 0; i < 3; i++) gpu.sampleOnce();
        assertTrue(gpu.measured());
        assertEquals(3000, gpu.peakMib(100));
        assertEquals(50, gpu.peakMib(200));
        assertEquals(0, gpu.peakMib(300), "watched, never listed: held no GPU memory");
        assertEquals(Optional.empty(), gpu.notMeasuredReason());
    }

    @Test
    void aFailedQueryIsSkipped() {
        GpuMemory gpu = scripted(List.of(1L), "1, 10\n", null, "1, 30\n");
        for (int i = 0; i < 3; i++) gpu.sampleOnce();
        assertEquals(30, gpu.peakMib(1));
    }

    @Test
    void noWatchedProcessListedMeansNotMeasuredRatherThanZero() {
        GpuMemory gpu = scripted(List.of(1L, 2L), "999, 4000\n", "No running processes found\n");
        gpu.sampleOnce();
        gpu.sampleOnce();
        assertFalse(gpu.measured());
        assertEquals(-1, gpu.peakMib(1));
        assertTrue(gpu.notMeasuredReason().orElseThrow().contains("listed none of the processes"));
    }

    @Test
    void onlyFailedQueriesSayWhy() {
        GpuMemory gpu = scripted(List.of(1L), (String) null);
        gpu.sampleOnce();
        assertEquals(Optional.of("nvidia-smi failed: scripted failure"), gpu.notMeasuredReason());
    }

    @Test
    void aCpuDeviceIsNotSampled() {
        try (GpuMemory gpu = GpuMemory.start("cpu", List.of(ProcessHandle.current().pid()))) {
            assertFalse(gpu.measured());
            assertEquals(-1, gpu.peakMib(ProcessHandle.current().pid()));
            assertEquals(Optional.of("the device is cpu"), gpu.notMeasuredReason());
        }
    }

    @Test
    void withoutNvidiaSmiOnThePathNothingIsSampled(@TempDir Path emptyDir) {
        try (GpuMemory gpu = GpuMemory.start("cuda:0", List.of(1L), emptyDir.toString())) {
            assertFalse(gpu.measured());
            assertEquals(Optional.of("no nvidia-smi on the PATH"), gpu.notMeasuredReason());
        }
    }

    @Test
    void samplesTheNvidiaSmiItFindsOnThePath(@TempDir Path bin) throws Exception {
        long self = ProcessHandle.current().pid();
        Path fake = Files.writeString(bin.resolve("nvidia-smi"), String.join("\n",
                "#!/bin/sh",
                "case \"$*\" in",
                "  *--query-compute-apps=pid,used_memory*--format=csv,noheader,nounits*) echo \"" + self + ", 1536\" ;;",
                "  *) exit 2 ;;",
                "esac",
                ""));
        assertTrue(fake.toFile().setExecutable(true));
        try (GpuMemory gpu = GpuMemory.start("auto", List.of(self), bin.toString())) {
            // The first sample is taken at once; the loop only bounds the wait on a slow machine.
            for (int i = 0; i < 600 && !gpu.measured(); i++) Thread.sleep(50);
            assertEquals(1536, gpu.peakMib(self), () -> String.valueOf(gpu.notMeasuredReason()));
        }
    }

    @Test
    void executablesAreFoundOnThePath(@TempDir Path dir) throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        Path bin = Files.createDirectory(dir.resolve("bin"));
        Path tool = Files.writeString(bin.resolve("nvidia-smi"), "#!/bin/sh\n");
        Path plain = Files.createDirectory(dir.resolve("plain"));
        Files.writeString(plain.resolve("nvidia-smi"), "not executable");
        assertTrue(tool.toFile().setExecutable(true));

        String path = String.join(File.pathSeparator, "", empty.toString(), plain.toString(), bin.toString());
        assertEquals(Optional.of(tool), GpuMemory.onPath(path, "nvidia-smi"));
        assertEquals(Optional.empty(), GpuMemory.onPath(empty.toString(), "nvidia-smi"));
        assertEquals(Optional.empty(), GpuMemory.onPath(null, "nvidia-smi"));
    }

    /** A sampler whose queries answer {@code outputs} in order; a null output is a failed query. */
    private static GpuMemory scripted(List<Long> pids, String... outputs) {
        Deque<Optional<String>> answers = new ArrayDeque<>();
        for (String output : outputs) answers.add(Optional.ofNullable(output));
        return new GpuMemory(pids, () -> answers.removeFirst()
                .orElseThrow(() -> new IllegalStateException("scripted failure")), null);
    }
}
