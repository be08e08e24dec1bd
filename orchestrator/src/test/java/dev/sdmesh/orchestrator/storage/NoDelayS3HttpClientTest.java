package dev.sdmesh.orchestrator.storage;

import dev.sdmesh.testkit.KafkaTestResource;
import dev.sdmesh.testkit.S3TestResource;
import io.quarkiverse.minio.client.OptionalHttpClientProducer;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The S3 client Quarkus builds gets an HTTP client whose connections have Nagle's algorithm off. */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3TestResource.class)
class NoDelayS3HttpClientTest {
    /** The name quarkus-minio gives the client configured under {@code quarkus.minio.*}. */
    private static final String DEFAULT_CLIENT = "<default>";

    @Inject
    OptionalHttpClientProducer httpClients;

    @Test
    void theMinioClientsHttpClientOpensNoDelaySockets() throws Exception {
        OkHttpClient client = httpClients.apply(DEFAULT_CLIENT).orElseThrow();
        assertInstanceOf(NoDelaySocketFactory.class, client.socketFactory());
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket socket = client.socketFactory().createSocket(InetAddress.getLoopbackAddress(), server.getLocalPort())) {
            assertTrue(socket.getTcpNoDelay());
        }
    }
}
