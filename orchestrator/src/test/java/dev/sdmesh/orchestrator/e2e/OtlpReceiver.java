package dev.sdmesh.orchestrator.e2e;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * An OTLP/HTTP trace endpoint on loopback that keeps each export request's protobuf body as a file, so that a test
 * can see the spans the services (the orchestrator in the test JVM, the stages in their own processes) really sent.
 * Bodies are searched for raw bytes rather than decoded: a trace id is its 16 bytes in the {@code trace_id} field and a
 * service's name its UTF-8 text in the resource attributes.
 */
final class OtlpReceiver implements AutoCloseable {
    /** Where the bodies go: a fixed folder, because the test reads it from another class loader than this one's. */
    static final Path RECEIVED = Path.of("target", "otlp-traces");

    private final HttpServer server;
    private final AtomicInteger count = new AtomicInteger();

    private OtlpReceiver(HttpServer server) {
        this.server = server;
    }

    static OtlpReceiver start() {
        try {
            if (Files.isDirectory(RECEIVED)) {
                try (Stream<Path> old = Files.list(RECEIVED)) {
                    for (Path p : old.toList()) Files.delete(p);
                }
            }
            Files.createDirectories(RECEIVED);
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            OtlpReceiver receiver = new OtlpReceiver(server);
            server.createContext("/v1/traces", exchange -> {
                try (InputStream body = exchange.getRequestBody()) {
                    Files.write(RECEIVED.resolve(receiver.count.incrementAndGet() + ".pb"), body.readAllBytes());
                }
                // An empty ExportTraceServiceResponse: full success.
                exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
                exchange.sendResponseHeaders(200, -1);
                exchange.close();
            });
            server.start();
            return receiver;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The base URL for {@code quarkus.otel.exporter.otlp.traces.endpoint} with the http/protobuf protocol. */
    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** The export bodies received so far. */
    static List<byte[]> bodies() {
        try (Stream<Path> files = Files.list(RECEIVED)) {
            return files.map(p -> {
                try {
                    return Files.readAllBytes(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Whether a body from the service named {@code service} holds a span of the trace with this hex id. */
    static boolean sentBy(String service, String traceIdHex) {
        byte[] name = service.getBytes(StandardCharsets.UTF_8);
        byte[] trace = HexFormat.of().parseHex(traceIdHex);
        return bodies().stream().anyMatch(b -> contains(b, name) && contains(b, trace));
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return true;
        }
        return false;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
