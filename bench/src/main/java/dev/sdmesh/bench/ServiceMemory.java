package dev.sdmesh.bench;

/**
 * Peak memory of one mesh process over a benchmark session.
 *
 * @param mesh           which mesh start it belongs to (e.g. {@code max-batch 8})
 * @param peakRssBytes   {@code VmHWM}; -1 when it could not be read
 * @param peakGpuMib     the most GPU memory {@code nvidia-smi} listed for it ({@link GpuMemory}); 0 when it held none;
 *                       -1 when GPU memory was not measured
 */
public record ServiceMemory(String mesh, String service, long pid, long peakRssBytes, long peakGpuMib) {

    /** Peak RSS, and the peak GPU memory {@code gpu} sampled for the process during the session. */
    public static ServiceMemory read(String mesh, String service, long pid, GpuMemory gpu) {
        return new ServiceMemory(mesh, service, pid, ProcMemory.peakRssBytes(pid).orElse(-1), gpu.peakMib(pid));
    }

    boolean gpuMeasured() {
        return peakGpuMib >= 0;
    }
}
