package dev.sdmesh.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.minio.MinioClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The servers as the local mesh runs them: child JVMs that announce {@code READY <address>} and stop on SIGTERM. */
class ChildProcessMainTest {

    @Test
    void kafkaChildAnnouncesItsBootstrapAddress(@TempDir Path dir) throws Exception {
        int port = LoopbackPorts.free();
        Process child = launch(EmbeddedKafka.class, "--port", String.valueOf(port), "--dir", dir.toString());
        try {
            assertEquals("127.0.0.1:" + port, awaitReady(child));
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + port))) {
                assertFalse(admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).isEmpty());
            }
            assertTrue(Files.exists(dir.resolve("meta.properties")), "log formatted in the given directory");
        } finally {
            stop(child);
        }
    }

    @Test
    void s3ChildAnnouncesItsEndpoint(@TempDir Path dir) throws Exception {
        Process child = launch(EmbeddedS3.class, "--dir", dir.toString());
        try {
            String endpoint = awaitReady(child);
            MinioClient minio = MinioClient.builder().endpoint(endpoint)
                    .credentials(EmbeddedS3.DEFAULT_ACCESS_KEY, EmbeddedS3.DEFAULT_SECRET_KEY).build();
            assertTrue(minio.listBuckets().isEmpty());
        } finally {
            stop(child);
        }
    }

    private static Process launch(Class<?> main, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    /** Library logging may share stdout; the address is on the first line that starts with READY. */
    private static String awaitReady(Process child) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        for (String line = out.readLine(); line != null; line = out.readLine()) {
            if (line.startsWith("READY ")) {
                Thread drain = new Thread(() -> out.lines().forEach(l -> { }));
                drain.setDaemon(true);
                drain.start();
                return line.substring("READY ".length());
            }
        }
        throw new AssertionError("child exited with " + child.waitFor() + " before READY");
    }

    private static void stop(Process child) throws InterruptedException {
        child.destroy();
        if (!child.waitFor(60, TimeUnit.SECONDS)) {
            child.destroyForcibly();
            throw new AssertionError("child did not stop on SIGTERM");
        }
    }
}
