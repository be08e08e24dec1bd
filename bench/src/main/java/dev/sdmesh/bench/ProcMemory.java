package dev.sdmesh.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/** Peak resident memory of a process, from Linux's {@code /proc/<pid>/status} ({@code VmHWM}, the RSS high-water mark). */
public final class ProcMemory {
    private ProcMemory() {
    }

    /** Peak RSS in bytes, or empty where the process is gone or the system has no procfs. */
    public static OptionalLong peakRssBytes(long pid) {
        Path status = Path.of("/proc", Long.toString(pid), "status");
        try {
            return vmHwmBytes(Files.readString(status));
        } catch (IOException e) {
            return OptionalLong.empty();
        }
    }

    /** The {@code VmHWM:} line of a status file in bytes (the kernel writes it in kB, i.e. KiB). */
    static OptionalLong vmHwmBytes(String status) {
        for (String line : status.split("\n")) {
            if (!line.startsWith("VmHWM:")) continue;
            String[] parts = line.substring(6).trim().split("\\s+");
            long value = Long.parseLong(parts[0]);
            if (parts.length > 1 && !parts[1].equalsIgnoreCase("kB")) {
                throw new IllegalArgumentException("unexpected VmHWM unit in: " + line);
            }
            return OptionalLong.of(value * 1024);
        }
        return OptionalLong.empty();
    }
}
