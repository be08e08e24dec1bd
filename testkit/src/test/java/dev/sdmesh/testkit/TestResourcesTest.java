package dev.sdmesh.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.minio.BucketExistsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;

/** Where Docker is absent (as on the build machines) the resources must hand out the embedded servers, not skip. */
class TestResourcesTest {

    @Test
    void kafkaResourcePointsBothKeysAtALiveBroker() throws Exception {
        KafkaTestResource resource = new KafkaTestResource();
        try {
            Map<String, String> config = resource.start();
            String bootstrap = config.get("kafka.bootstrap.servers");
            assertEquals(bootstrap, config.get("mp.messaging.connector.smallrye-kafka.bootstrap.servers"));
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                assertFalse(admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).isEmpty());
            }
        } finally {
            resource.stop();
        }
    }

    @Test
    void s3ResourceConfigIsEnoughForTheMinioClient() throws Exception {
        S3TestResource resource = new S3TestResource();
        try {
            Map<String, String> config = resource.start();
            assertEquals("false", config.get("quarkus.minio.secure"));
            MinioClient minio = MinioClient.builder()
                    .endpoint(config.get("quarkus.minio.host") + ":" + config.get("quarkus.minio.port"))
                    .credentials(config.get("quarkus.minio.access-key"), config.get("quarkus.minio.secret-key"))
                    .build();
            minio.makeBucket(MakeBucketArgs.builder().bucket("from-config").build());
            assertTrue(minio.bucketExists(BucketExistsArgs.builder().bucket("from-config").build()));
        } finally {
            resource.stop();
        }
    }
}
