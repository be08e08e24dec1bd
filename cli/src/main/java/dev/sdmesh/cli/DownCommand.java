package dev.sdmesh.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** {@code sdmesh down}: stops exactly the processes {@code up} started; data stays unless {@code --purge}. */
@Command(name = "down", mixinStandardHelpOptions = true, description = "Stop the local mesh.")
public final class DownCommand implements Callable<Integer> {

    @Option(names = "--purge", description = "Also delete the state directory (models, Kafka log, stored images).")
    boolean purge;

    @Override
    public Integer call() throws IOException {
        MeshLayout layout = MeshLayout.fromEnvironment();
        var state = MeshState.load(layout.stateFile());
        if (state.isEmpty()) {
            System.out.println("sdmesh is not running.");
        } else {
            stop(state.get());
            Files.deleteIfExists(layout.stateFile());
            System.out.println("sdmesh stopped.");
        }
        if (purge && Files.isDirectory(layout.stateDir())) {
            try (Stream<Path> paths = Files.walk(layout.stateDir())) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
            System.out.println("removed " + layout.stateDir());
        }
        return 0;
    }

    /** The orchestrator first, so it stops consuming before the stages and the broker go away. */
    static void stop(MeshState state) {
        List<MeshState.Service> services = new java.util.ArrayList<>(state.services);
        java.util.Collections.reverse(services);
        for (MeshState.Service service : services) {
            ProcessLauncher.stop(service.pid(), Duration.ofSeconds(15));
        }
    }
}
