package dev.sdmesh.cli;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Starts the mesh's child JVMs with their output in log files, and waits for them to be ready. */
final class ProcessLauncher {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Path logsDir;

    ProcessLauncher(Path logsDir) {
        this.logsDir = logsDir;
    }

    Path logFile(String name) {
        return logsDir.resolve(name + ".log");
    }

    /** {@code java [jvmArgs] -cp classpath mainClass args} or, with a null main class, {@code java [jvmArgs] -jar jar}. */
    static List<String> javaCommand(List<String> jvmArgs, String classpathOrJar, String mainClass, List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmArgs);
        if (mainClass == null) {
            command.add("-jar");
            command.add(classpathOrJar);
        } else {
            command.add("-cp");
            command.add(classpathOrJar);
            command.add(mainClass);
        }
        command.addAll(args);
        return command;
    }

    /** A started process and where its output begins in its (appended) log. */
    record Launched(String name, Process process, long logOffset, List<String> command) {
    }

    Launched start(String name, List<String> command) throws IOException {
        Files.createDirectories(logsDir);
        long offset = Files.exists(logFile(name)) ? Files.size(logFile(name)) : 0;
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile(name).toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return new Launched(name, builder.start(), offset, command);
    }

    /** Waits until the process's new log output holds a line starting with {@code READY}; returns the rest of it. */
    String awaitReadyLine(Launched launched, Duration timeout) throws IOException, InterruptedException {
        String name = launched.name();
        Process process = launched.process();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException(name + " exited with " + process.exitValue() + "; see " + logFile(name));
            }
            byte[] all = Files.readAllBytes(logFile(name));
            String output = new String(all, (int) Math.min(launched.logOffset(), all.length),
                    (int) Math.max(0, all.length - launched.logOffset()), java.nio.charset.StandardCharsets.UTF_8);
            for (String line : output.split("\\R")) {
                if (line.startsWith("READY ")) return line.substring(6).trim();
            }
            Thread.sleep(200);
        }
        throw new IOException(name + " not ready after " + timeout.toSeconds() + " s; see " + logFile(name));
    }

    /** Waits until {@code http://127.0.0.1:port/q/health/ready} answers 200. */
    void awaitHealthy(String name, Process process, int port, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException(name + " exited with " + process.exitValue() + "; see " + logFile(name));
            }
            if (healthy(port)) return;
            Thread.sleep(250);
        }
        throw new IOException(name + " not healthy after " + timeout.toSeconds() + " s; see " + logFile(name));
    }

    static boolean healthy(int port) {
        try {
            HttpResponse<Void> response = HTTP.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/q/health/ready")).timeout(Duration.ofSeconds(3)).build(),
                    HttpResponse.BodyHandlers.discarding());
            return response.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Stops a process and its children: SIGTERM, then SIGKILL after the grace period. */
    static void stop(long pid, Duration grace) {
        ProcessHandle.of(pid).ifPresent(handle -> {
            List<ProcessHandle> children = handle.descendants().toList();
            handle.destroy();
            try {
                handle.onExit().get(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (Exception timeout) {
                handle.destroyForcibly();
            }
            children.forEach(ProcessHandle::destroyForcibly);
        });
    }
}
