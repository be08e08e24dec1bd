package dev.sdmesh.cli;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

/** A local mesh for tests: a temporary state directory, free loopback ports, the packaged services of this checkout. */
final class TestMesh {
    private TestMesh() {
    }

    /** The checkout root (tests run in the cli module folder). */
    static Path home() {
        return Path.of(System.getProperty("sdmesh.home", "..")).toAbsolutePath().normalize();
    }

    static MeshLayout layout(Path stateDir) throws IOException {
        MeshLayout layout = new MeshLayout(home(), stateDir, stateDir.resolve("models"),
                freePort(), freePort(), freePort(), freeUnetBase(), freePort(), freePort());
        Assumptions.assumeTrue(layout.missingJars().isEmpty(),
                "service jars not packaged (" + layout.missingJars() + "); run ./mvnw -Pcpu verify, which packages them first");
        return layout;
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** A base port whose +10 replica port is free too. */
    private static int freeUnetBase() throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = freePort();
            if (base + 10 < 65535 && portFree(base + 10)) return base;
        }
        throw new IOException("no free port pair for unet replicas");
    }

    private static boolean portFree(int port) {
        try (ServerSocket socket = new ServerSocket(port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static void deleteQuietly(Path dir) {
        if (dir == null || !Files.exists(dir)) return;
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temporary data; nothing to recover
        }
    }
}
