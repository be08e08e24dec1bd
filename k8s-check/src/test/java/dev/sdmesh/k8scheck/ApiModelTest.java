package dev.sdmesh.k8scheck;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The strict parse must reject what fabric8 alone would accept, or the overlay checks prove nothing. */
class ApiModelTest {
    private static final String DEPLOYMENT = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: demo
            spec:
              replicas: 2
              selector:
                matchLabels:
                  app: demo
              template:
                metadata:
                  labels:
                    app: demo
                spec:
                  containers:
                    - name: demo
                      image: demo:1
                      ports:
                        - name: http
                          containerPort: 8080
                      resources:
                        limits:
                          memory: 1Gi
                          nvidia.com/gpu: "1"
            """;

    private final ApiModel model = new ApiModel();

    private static ObjectNode yaml(String text) throws Exception {
        return (ObjectNode) new YAMLMapper().readTree(text);
    }

    @Test
    void aValidDeploymentParsesToItsModelClass() throws Exception {
        Deployment d = assertInstanceOf(Deployment.class, model.parseStrict(yaml(DEPLOYMENT)));
        assertEquals(2, d.getSpec().getReplicas());
        assertEquals("1", d.getSpec().getTemplate().getSpec().getContainers().get(0).getResources().getLimits().get("nvidia.com/gpu").toString());
    }

    @Test
    void theDeliberatelyBrokenOverlayIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Manifests.build(Path.of("src/test/resources/broken")));
        assertTrue(e.getMessage().contains("readinessProbe.httpGet.pathh"), e.getMessage());
    }

    @Test
    void anUnknownFieldAtAnyDepthIsRejected() throws Exception {
        for (String broken : List.of(
                DEPLOYMENT.replace("  replicas: 2", "  replica: 2"),
                DEPLOYMENT.replace("containerPort: 8080", "containerPort: 8080\n              hostnetwork: true"),
                DEPLOYMENT.replace("metadata:\n  name: demo", "metadata:\n  name: demo\n  label:\n    a: b"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.parseStrict(yaml(broken)));
            assertTrue(e.getMessage().contains("unknown field"), e.getMessage());
        }
    }

    @Test
    void aValueOfTheWrongTypeIsRejected() {
        // fabric8 coerces the string "2" into replicas=2; the API server would refuse it.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> model.parseStrict(yaml(DEPLOYMENT.replace("replicas: 2", "replicas: \"2\""))));
        assertTrue(e.getMessage().contains("spec.replicas"), e.getMessage());
    }

    @Test
    void aBuiltInKindTheModelDoesNotKnowIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> model.parseStrict(yaml(DEPLOYMENT.replace("kind: Deployment", "kind: Deploymnt"))));
        assertThrows(IllegalArgumentException.class, () -> model.parseStrict(yaml(DEPLOYMENT.replace("apps/v1", "apps/v1beta9"))));
    }

    @Test
    void customResourcesAreGenericAndShapeChecked() throws Exception {
        String topic = """
                apiVersion: kafka.strimzi.io/v1beta2
                kind: KafkaTopic
                metadata:
                  name: t
                  labels:
                    strimzi.io/cluster: sdmesh
                spec:
                  partitions: 3
                  replicas: 1
                """;
        assertInstanceOf(GenericKubernetesResource.class, model.parseStrict(yaml(topic)));
        assertEquals(List.of(), CustomResources.violations(yaml(topic)));
        assertEquals(List.of("unknown field spec.partition", "spec.partitions must be an integer >= 1"),
                CustomResources.violations(yaml(topic.replace("partitions:", "partition:"))));
        assertEquals(List.of("label strimzi.io/cluster is required"),
                CustomResources.violations(yaml(topic.replace("strimzi.io/cluster", "strimzi.io/clustr"))));
        assertEquals(List.of("no shape rules for custom resource keda.sh/v1alpha1 ScaledJob"),
                CustomResources.violations(yaml("apiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata:\n  name: j\n")));
    }

    @Test
    void kedaTriggerMetadataMustBeStrings() throws Exception {
        String scaledObject = """
                apiVersion: keda.sh/v1alpha1
                kind: ScaledObject
                metadata:
                  name: s
                spec:
                  scaleTargetRef:
                    name: d
                  triggers:
                    - type: prometheus
                      metadata:
                        serverAddress: http://p:9090
                        query: sum(x)
                        threshold: "4"
                """;
        assertEquals(List.of(), CustomResources.violations(yaml(scaledObject)));
        assertEquals(List.of("trigger metadata threshold must be a string", "trigger prometheus.threshold is required"),
                CustomResources.violations(yaml(scaledObject.replace("\"4\"", "4"))));
    }
}
