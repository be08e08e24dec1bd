package dev.sdmesh.bench;

/**
 * Peak resident memory of one mesh process over a benchmark session.
 *
 * @param mesh           which mesh start it belongs to (e.g. {@code max-batch 8})
 * @param peakRssBytes   {@code VmHWM}; -1 when it could not be read
 */
public record ServiceMemory(String mesh, String service, long pid, long peakRssBytes) {

    public static ServiceMemory read(String mesh, String service, long pid) {
        return new ServiceMemory(mesh, service, pid, ProcMemory.peakRssBytes(pid).orElse(-1));
    }
}
