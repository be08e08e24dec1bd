package dev.sdmesh.orchestrator.infra;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Random;

import jakarta.inject.Inject;

import dev.sdmesh.testkit.KafkaTestResource;
import dev.sdmesh.testkit.S3TestResource;
import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.GetPresignedObjectUrlArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.http.Method;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3TestResource.class)
class MinioClientTest {

    private static final String BUCKET = "infra-probe";

    @Inject
    MinioClient minio;

    @Test
    void putStatGetAndPresignedGetThroughTheInjectedClient() throws Exception {
        byte[] image = new byte[200_000];
        new Random(7).nextBytes(image);
        String object = "jobs/probe/image-0.png";
        if (!minio.bucketExists(BucketExistsArgs.builder().bucket(BUCKET).build())) {
            minio.makeBucket(MakeBucketArgs.builder().bucket(BUCKET).build());
        }

        minio.putObject(PutObjectArgs.builder().bucket(BUCKET).object(object)
                .stream(new ByteArrayInputStream(image), image.length, -1).contentType("image/png").build());

        StatObjectResponse stat = minio.statObject(StatObjectArgs.builder().bucket(BUCKET).object(object).build());
        assertEquals(image.length, stat.size());
        assertEquals("image/png", stat.contentType());
        try (InputStream in = minio.getObject(GetObjectArgs.builder().bucket(BUCKET).object(object).build())) {
            assertArrayEquals(image, in.readAllBytes());
        }
        String url = minio.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder()
                .method(Method.GET).bucket(BUCKET).object(object).expiry(600).build());
        HttpResponse<byte[]> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, response.statusCode());
        assertArrayEquals(image, response.body());
    }
}
