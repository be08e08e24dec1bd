package dev.sdmesh.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./sdmesh}: runs the local mesh, generates images through it, and generates synthetic models. */
@Command(name = "sdmesh", mixinStandardHelpOptions = true, version = "sdmesh 0.1.0",
        description = "Stable Diffusion serving mesh: local mesh launcher and client.",
        subcommands = {UpCommand.class, DownCommand.class, StatusCommand.class, LogsCommand.class,
                GenerateCommand.class, DemoCommand.class, ModelsCommand.class, BenchCommand.class})
public final class Main implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        int exit = new CommandLine(new Main()).execute(args);
        System.exit(exit);
    }
}
