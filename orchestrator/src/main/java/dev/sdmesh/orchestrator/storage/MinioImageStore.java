package dev.sdmesh.orchestrator.storage;

import dev.sdmesh.orchestrator.pipeline.ImageStore;
import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.GetPresignedObjectUrlArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.StatObjectArgs;
import io.minio.errors.ErrorResponseException;
import io.minio.http.Method;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.time.Duration;

/** The image store on S3 (MinIO, s3proxy or AWS) through the MinIO client. */
public final class MinioImageStore implements ImageStore {
    private final MinioClient client;
    private final String bucket;
    private final Duration urlExpiry;

    public MinioImageStore(MinioClient client, String bucket, Duration urlExpiry) {
        this.client = client;
        this.bucket = bucket;
        this.urlExpiry = urlExpiry;
    }

    public String bucket() {
        return bucket;
    }

    /** Creates the bucket unless it exists. */
    public void ensureBucket() {
        try {
            if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
                client.makeBucket(MakeBucketArgs.builder().bucket(bucket).build());
            }
        } catch (ErrorResponseException e) {
            String code = e.errorResponse().code();
            if (!"BucketAlreadyOwnedByYou".equals(code) && !"BucketAlreadyExists".equals(code)) throw storageError("create bucket", e);
        } catch (Exception e) {
            throw storageError("create bucket", e);
        }
    }

    public boolean bucketExists() {
        try {
            return client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build());
        } catch (Exception e) {
            throw storageError("check bucket", e);
        }
    }

    @Override
    public void put(String key, byte[] data, String contentType) {
        try {
            client.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
                    .stream(new ByteArrayInputStream(data), data.length, -1).contentType(contentType).build());
        } catch (Exception e) {
            throw storageError("put " + key, e);
        }
    }

    @Override
    public byte[] get(String key) {
        try (InputStream in = client.getObject(GetObjectArgs.builder().bucket(bucket).object(key).build())) {
            return in.readAllBytes();
        } catch (ErrorResponseException e) {
            if (isMissing(e)) return null;
            throw storageError("get " + key, e);
        } catch (Exception e) {
            throw storageError("get " + key, e);
        }
    }

    @Override
    public boolean exists(String key) {
        try {
            client.statObject(StatObjectArgs.builder().bucket(bucket).object(key).build());
            return true;
        } catch (ErrorResponseException e) {
            if (isMissing(e)) return false;
            throw storageError("stat " + key, e);
        } catch (Exception e) {
            throw storageError("stat " + key, e);
        }
    }

    @Override
    public String presignedUrl(String key) {
        try {
            return client.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder().method(Method.GET).bucket(bucket)
                    .object(key).expiry(Math.toIntExact(urlExpiry.toSeconds())).build());
        } catch (Exception e) {
            throw storageError("presign " + key, e);
        }
    }

    private static boolean isMissing(ErrorResponseException e) {
        String code = e.errorResponse().code();
        return "NoSuchKey".equals(code) || "NoSuchObject".equals(code) || e.response().code() == 404;
    }

    private IllegalStateException storageError(String what, Exception e) {
        return new IllegalStateException("storage: cannot " + what + " in bucket " + bucket + ": " + e.getMessage(), e);
    }
}
