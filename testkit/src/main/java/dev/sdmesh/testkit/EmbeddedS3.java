package dev.sdmesh.testkit;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;

/**
 * A real S3-compatible server (S3Proxy) in this JVM on a loopback port, checking AWS V2/V4 signatures
 * with one access key / secret key pair, so clients talk to it exactly as to MinIO or AWS.
 *
 * <p>With a data directory buckets and objects are plain files under it and survive a restart;
 * without one they live in memory.
 */
public final class EmbeddedS3 implements AutoCloseable {

    public static final String DEFAULT_ACCESS_KEY = "sdmesh";
    public static final String DEFAULT_SECRET_KEY = "sdmesh-secret";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    private final S3Proxy proxy;
    private final BlobStore blobStore;
    private final String endpoint;
    private final String accessKey;
    private final String secretKey;

    private EmbeddedS3(S3Proxy proxy, BlobStore blobStore, String endpoint, String accessKey, String secretKey) {
        this.proxy = proxy;
        this.blobStore = blobStore;
        this.endpoint = endpoint;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
    }

    /** Starts on a free port with the default credentials; {@code dataDirOrNull} null keeps objects in memory. */
    public static EmbeddedS3 start(Path dataDirOrNull) {
        return start(dataDirOrNull, 0);
    }

    /** Starts on {@code port} (0 = a free one) with the default credentials. */
    public static EmbeddedS3 start(Path dataDirOrNull, int port) {
        return start(dataDirOrNull, port, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY);
    }

    public static EmbeddedS3 start(Path dataDirOrNull, int port, String accessKey, String secretKey) {
        BlobStore blobStore = dataDirOrNull == null
                ? new TransientNio2BlobStore()
                : new FilesystemNio2BlobStore(DataDirectory.of(dataDirOrNull, "embedded-s3").path().toString());
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(blobStore)
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
                .ignoreUnknownHeaders(true)
                .build();
        try {
            proxy.start();
            awaitStarted(proxy);
        } catch (Exception e) {
            stopQuietly(proxy, e);
            throw new IllegalStateException("embedded S3 did not start", e);
        }
        return new EmbeddedS3(proxy, blobStore, "http://127.0.0.1:" + proxy.getPort(), accessKey, secretKey);
    }

    /** {@code start()} hands Jetty its own thread; the port is only known once Jetty reports STARTED. */
    private static void awaitStarted(S3Proxy proxy) throws InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!"STARTED".equals(proxy.getState())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("S3Proxy state " + proxy.getState() + " after " + READY_TIMEOUT);
            }
            Thread.sleep(10);
        }
    }

    private static void stopQuietly(S3Proxy proxy, Exception cause) {
        try {
            proxy.stop();
        } catch (Exception e) {
            cause.addSuppressed(e);
        }
    }

    /** {@code http://127.0.0.1:PORT}. */
    public String endpoint() {
        return endpoint;
    }

    public int port() {
        return URI.create(endpoint).getPort();
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    @Override
    public void close() throws Exception {
        try {
            proxy.stop();
        } finally {
            blobStore.close();
        }
    }

    /** {@code java -cp ... dev.sdmesh.testkit.EmbeddedS3 [--port 9000] [--dir DIR]}: prints {@code READY <endpoint>}. */
    public static void main(String[] args) throws InterruptedException {
        ChildProcessMain.Options options = ChildProcessMain.Options.parse(args);
        EmbeddedS3 s3 = start(options.dir(), options.port());
        ChildProcessMain.serveUntilStopped(s3, s3.endpoint());
    }
}
