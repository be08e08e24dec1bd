package dev.sdmesh.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** What the numbers were measured on. */
public record MachineInfo(int cpus, String cpuModel, long memoryBytes, String os, String java, String device) {

    public static MachineInfo current(String device) {
        return new MachineInfo(Runtime.getRuntime().availableProcessors(),
                field(read("/proc/cpuinfo"), "model name").orElse(System.getProperty("os.arch")),
                field(read("/proc/meminfo"), "MemTotal").map(MachineInfo::kibToBytes).orElse(-1L),
                System.getProperty("os.name") + " " + System.getProperty("os.version"),
                System.getProperty("java.vm.name") + " " + System.getProperty("java.version"),
                device);
    }

    /** The value of the first {@code name : value} line of a procfs file. */
    static Optional<String> field(String procFile, String name) {
        for (String line : procFile.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equals(name)) {
                return Optional.of(line.substring(colon + 1).trim());
            }
        }
        return Optional.empty();
    }

    private static long kibToBytes(String value) {
        return Long.parseLong(value.split("\\s+")[0]) * 1024;
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file));
        } catch (IOException e) {
            return "";
        }
    }
}
