package dev.sdmesh.cli;

import java.nio.file.Path;
import java.time.Duration;

/**
 * A local mesh started by the CLI's own {@code up} code for tests outside this package (the web UI test): one CPU
 * unet replica, the tiny default model, free ports, a temporary state directory; {@link #close()} is {@code down}.
 */
public final class RunningMesh implements AutoCloseable {
    private final Path stateDir;
    private final MeshState state;

    private RunningMesh(Path stateDir, MeshState state) {
        this.stateDir = stateDir;
        this.state = state;
    }

    /** Skips the calling test (JUnit assumption) when the service jars are not packaged. */
    public static RunningMesh start(Path stateDir, Duration timeout) throws Exception {
        MeshLayout layout = TestMesh.layout(stateDir);
        UpCommand.ensureDefaultModel(layout);
        return new RunningMesh(stateDir, UpCommand.start(layout, 1, "cpu", timeout));
    }

    /** The orchestrator's base URL, e.g. {@code http://127.0.0.1:8080}. */
    public String restUrl() {
        return state.rest;
    }

    public Path logsDir() {
        return stateDir.resolve("logs");
    }

    /** Stops every process it started; true when none is left running. */
    public boolean stop() {
        DownCommand.stop(state);
        return state.services.stream().noneMatch(MeshState.Service::alive);
    }

    @Override
    public void close() {
        stop();
    }
}
