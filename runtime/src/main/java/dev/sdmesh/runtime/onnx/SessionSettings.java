package dev.sdmesh.runtime.onnx;

import java.nio.file.Path;

/**
 * ONNX Runtime session options shared by all sessions of a service.
 *
 * @param provider            where sessions run
 * @param intraOpThreads      threads inside one operator; 0 = ORT's default (one per core)
 * @param interOpThreads      threads across operators; 0 = ORT's default
 * @param optimizationLevel   {@code all}, {@code extended}, {@code basic} or {@code none}
 * @param optimizedModelCache folder where ORT's optimised copy of each graph is written on the first load and loaded
 *                            instead of the source while it is newer (models with external weights excepted);
 *                            null = no cache
 */
public record SessionSettings(ExecutionProvider provider, int intraOpThreads, int interOpThreads,
                              String optimizationLevel, Path optimizedModelCache) {

    public static SessionSettings cpuDefaults() {
        return new SessionSettings(ExecutionProvider.CPU, 0, 0, "all", null);
    }

    public SessionSettings withProvider(ExecutionProvider newProvider) {
        return new SessionSettings(newProvider, intraOpThreads, interOpThreads, optimizationLevel, optimizedModelCache);
    }
}
