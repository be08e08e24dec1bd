package dev.sdmesh.testkit;

import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.MinIOContainer;

/**
 * An S3 server for {@code @QuarkusTest}s: a MinIO container where Docker is available, the in-process
 * {@link EmbeddedS3} otherwise, both with the {@link EmbeddedS3#DEFAULT_ACCESS_KEY default credentials}.
 * The keys are the ones quarkus-minio 3.8.6 reads; it ignores the deprecated {@code quarkus.minio.url}.
 */
public class S3TestResource implements QuarkusTestResourceLifecycleManager {

    static final String IMAGE = "minio/minio:RELEASE.2023-09-04T19-57-37Z";
    private static final int MINIO_API_PORT = 9000;

    private AutoCloseable server;

    @Override
    public Map<String, String> start() {
        String host;
        int port;
        if (DockerClientFactory.instance().isDockerAvailable()) {
            MinIOContainer container = new MinIOContainer(IMAGE)
                    .withUserName(EmbeddedS3.DEFAULT_ACCESS_KEY)
                    .withPassword(EmbeddedS3.DEFAULT_SECRET_KEY);
            container.start();
            server = container::stop;
            host = container.getHost();
            port = container.getMappedPort(MINIO_API_PORT);
        } else {
            EmbeddedS3 s3 = EmbeddedS3.start(null);
            server = s3;
            host = "127.0.0.1";
            port = s3.port();
        }
        return Map.of(
                "quarkus.minio.host", "http://" + host,
                "quarkus.minio.port", String.valueOf(port),
                "quarkus.minio.secure", "false",
                "quarkus.minio.access-key", EmbeddedS3.DEFAULT_ACCESS_KEY,
                "quarkus.minio.secret-key", EmbeddedS3.DEFAULT_SECRET_KEY);
    }

    @Override
    public void stop() {
        if (server == null) {
            return;
        }
        try {
            server.close();
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop the test S3 server", e);
        } finally {
            server = null;
        }
    }
}
