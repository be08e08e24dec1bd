package dev.sdmesh.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code sdmesh logs SERVICE}: prints a service's log. */
@Command(name = "logs", mixinStandardHelpOptions = true, description = "Print a service's log (kafka, s3, text-encoder-svc, unet-svc, vae-svc, orchestrator).")
public final class LogsCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "Service name.")
    String service;

    @Option(names = {"-n", "--lines"}, defaultValue = "200", description = "Last N lines (default ${DEFAULT-VALUE}; 0 = all).")
    int lines;

    @Override
    public Integer call() throws Exception {
        Path log = MeshLayout.fromEnvironment().logsDir().resolve(service + ".log");
        if (!Files.isRegularFile(log)) {
            System.err.println("no log for '" + service + "' at " + log);
            return 2;
        }
        List<String> all = Files.readAllLines(log);
        all.subList(lines <= 0 ? 0 : Math.max(0, all.size() - lines), all.size()).forEach(System.out::println);
        return 0;
    }
}
