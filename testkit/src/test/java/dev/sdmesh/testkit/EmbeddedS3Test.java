package dev.sdmesh.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;

import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.GetPresignedObjectUrlArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.errors.ErrorResponseException;
import io.minio.http.Method;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedS3Test {

    @Test
    void putStatGetAndPresignedGetWithSigV4() throws Exception {
        byte[] image = randomBytes(300_000);
        try (EmbeddedS3 s3 = EmbeddedS3.start(null)) {
            MinioClient minio = client(s3, s3.accessKey(), s3.secretKey());
            minio.makeBucket(MakeBucketArgs.builder().bucket("images").build());
            put(minio, "images", "job-1/out.png", image, "image/png");

            StatObjectResponse stat = minio.statObject(StatObjectArgs.builder().bucket("images").object("job-1/out.png").build());
            assertEquals(image.length, stat.size());
            assertEquals("image/png", stat.contentType());
            assertArrayEquals(image, get(minio, "images", "job-1/out.png"));

            String url = minio.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder()
                    .method(Method.GET).bucket("images").object("job-1/out.png").expiry(600).build());
            HttpResponse<byte[]> response = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, response.statusCode());
            assertArrayEquals(image, response.body());
        }
    }

    @Test
    void rejectsAWrongSecretKey() throws Exception {
        try (EmbeddedS3 s3 = EmbeddedS3.start(null)) {
            MinioClient intruder = client(s3, s3.accessKey(), "not-the-secret");
            ErrorResponseException e = assertThrows(ErrorResponseException.class,
                    () -> intruder.makeBucket(MakeBucketArgs.builder().bucket("nope").build()));
            assertEquals("SignatureDoesNotMatch", e.errorResponse().code());
        }
    }

    @Test
    void restartOnTheSameDirectoryKeepsBucketsAndObjects(@TempDir Path dir) throws Exception {
        byte[] body = "survives a restart".getBytes(StandardCharsets.UTF_8);
        try (EmbeddedS3 s3 = EmbeddedS3.start(dir)) {
            MinioClient minio = client(s3, s3.accessKey(), s3.secretKey());
            minio.makeBucket(MakeBucketArgs.builder().bucket("durable").build());
            put(minio, "durable", "a/b.txt", body, "text/plain");
        }
        try (EmbeddedS3 restarted = EmbeddedS3.start(dir)) {
            MinioClient minio = client(restarted, restarted.accessKey(), restarted.secretKey());
            assertEquals(true, minio.bucketExists(BucketExistsArgs.builder().bucket("durable").build()));
            assertArrayEquals(body, get(minio, "durable", "a/b.txt"));
        }
    }

    private static MinioClient client(EmbeddedS3 s3, String accessKey, String secretKey) {
        return MinioClient.builder().endpoint(s3.endpoint()).credentials(accessKey, secretKey).build();
    }

    private static void put(MinioClient minio, String bucket, String object, byte[] body, String contentType) throws Exception {
        minio.putObject(PutObjectArgs.builder().bucket(bucket).object(object)
                .stream(new ByteArrayInputStream(body), body.length, -1).contentType(contentType).build());
    }

    private static byte[] get(MinioClient minio, String bucket, String object) throws Exception {
        try (InputStream in = minio.getObject(GetObjectArgs.builder().bucket(bucket).object(object).build())) {
            return in.readAllBytes();
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        new Random(42).nextBytes(bytes);
        return bytes;
    }
}
