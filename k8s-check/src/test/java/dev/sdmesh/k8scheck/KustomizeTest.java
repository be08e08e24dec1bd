package dev.sdmesh.k8scheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Kustomize subset behaves as kustomize does for the features k8s/ relies on. */
class KustomizeTest {
    private static final String DEPLOYMENT = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
              labels:
                app: web
            spec:
              template:
                metadata:
                  labels:
                    app: web
                spec:
                  containers:
                    - name: web
                      image: example/web:1.0
                      env:
                        - name: A
                          value: "1"
                        - name: B
                          value: "2"
                    - name: sidecar
                      image: registry.local:5000/tools/sidecar
                      args: [one, two]
            """;

    @TempDir
    Path dir;

    private void write(String path, String text) throws IOException {
        Path file = dir.resolve(path);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }

    private static JsonNode container(ObjectNode deployment, int i) {
        return deployment.path("spec").path("template").path("spec").path("containers").path(i);
    }

    @Test
    void strategicMergeMergesContainersAndEnvByNameAndReplacesOtherLists() throws IOException {
        write("base/deployment.yaml", DEPLOYMENT);
        write("base/kustomization.yaml", "kind: Kustomization\nresources: [deployment.yaml]\n");
        write("overlay/patch.yaml", """
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: web
                spec:
                  replicas: 3
                  template:
                    spec:
                      containers:
                        - name: sidecar
                          args: [three]
                        - name: web
                          env:
                            - name: B
                              value: "20"
                            - name: C
                              value: "3"
                """);
        write("overlay/kustomization.yaml", "kind: Kustomization\nresources: [../base]\npatches:\n  - path: patch.yaml\n");

        ObjectNode d = Kustomize.build(dir.resolve("overlay")).get(0);
        assertEquals(3, d.path("spec").path("replicas").asInt());
        JsonNode web = container(d, 0);
        assertEquals("web", web.path("name").asText());
        assertEquals("example/web:1.0", web.path("image").asText());
        assertEquals(List.of("A=1", "B=20", "C=3"), web.path("env").valueStream()
                .map(e -> e.path("name").asText() + "=" + e.path("value").asText()).toList());
        assertEquals("[\"three\"]", container(d, 1).path("args").toString());
        assertEquals(2, d.path("spec").path("template").path("spec").path("containers").size());
    }

    @Test
    void aComponentPatchesItsParentsResourcesAndTheParentsTransformersSeeTheComponents() throws IOException {
        write("base/deployment.yaml", DEPLOYMENT);
        write("base/kustomization.yaml", "kind: Kustomization\nresources: [deployment.yaml]\n");
        write("component/kustomization.yaml", """
                kind: Component
                resources: [extra.yaml]
                patches:
                  - path: null-out.yaml
                    target:
                      kind: Deployment
                      labelSelector: app=web
                images:
                  - name: registry.local:5000/tools/sidecar
                    newTag: "2.1"
                """);
        write("component/extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  k: v\n");
        write("component/null-out.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ignored-with-target\n  labels:\n    app: null\n");
        write("overlay/kustomization.yaml", """
                kind: Kustomization
                namespace: ns
                labels:
                  - pairs:
                      tier: front
                    includeTemplates: true
                resources: [../base]
                components: [../component]
                images:
                  - name: example/web
                    newName: mirror.local/web
                """);

        List<ObjectNode> objects = Kustomize.build(dir.resolve("overlay"));
        ObjectNode d = objects.get(0);
        ObjectNode cm = objects.get(1);
        assertEquals("web", d.path("metadata").path("name").asText(), "a targeted patch keeps the target's name");
        assertFalse(d.path("metadata").path("labels").has("app"), "null deletes a key");
        assertEquals("front", d.path("metadata").path("labels").path("tier").asText());
        assertEquals("front", d.path("spec").path("template").path("metadata").path("labels").path("tier").asText());
        assertEquals("front", cm.path("metadata").path("labels").path("tier").asText());
        assertEquals("ns", cm.path("metadata").path("namespace").asText());
        assertEquals("mirror.local/web:1.0", container(d, 0).path("image").asText());
        assertEquals("registry.local:5000/tools/sidecar:2.1", container(d, 1).path("image").asText());
    }

    @Test
    void customResourcesGetAJsonMergePatch() throws IOException {
        write("base/so.yaml", """
                apiVersion: keda.sh/v1alpha1
                kind: ScaledObject
                metadata:
                  name: s
                spec:
                  maxReplicaCount: 2
                  triggers:
                    - type: kafka
                      name: first
                """);
        write("base/patch.yaml", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: s\nspec:\n  maxReplicaCount: 5\n  triggers:\n    - name: first\n");
        write("base/kustomization.yaml", "kind: Kustomization\nresources: [so.yaml]\npatches:\n  - path: patch.yaml\n");
        ObjectNode so = Kustomize.build(dir.resolve("base")).get(0);
        assertEquals(5, so.path("spec").path("maxReplicaCount").asInt());
        assertEquals("[{\"name\":\"first\"}]", so.path("spec").path("triggers").toString(), "lists are replaced, not merged");
    }

    @Test
    void whatTheSubsetDoesNotCoverIsRejected() throws IOException {
        write("a/kustomization.yaml", "kind: Kustomization\nconfigMapGenerator:\n  - name: x\n");
        assertThrows(KustomizeException.class, () -> Kustomize.build(dir.resolve("a")));

        write("b/deployment.yaml", DEPLOYMENT);
        write("b/patch.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: other\nspec:\n  replicas: 2\n");
        write("b/kustomization.yaml", "kind: Kustomization\nresources: [deployment.yaml]\npatches:\n  - path: patch.yaml\n");
        KustomizeException e = assertThrows(KustomizeException.class, () -> Kustomize.build(dir.resolve("b")));
        assertTrue(e.getMessage().contains("matches no resource"), e.getMessage());

        write("c/deployment.yaml", DEPLOYMENT);
        write("c/patch.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  $patch: replace\n");
        write("c/kustomization.yaml", "kind: Kustomization\nresources: [deployment.yaml]\npatches:\n  - path: patch.yaml\n");
        assertThrows(KustomizeException.class, () -> Kustomize.build(dir.resolve("c")));

        write("e/deployment.yaml", DEPLOYMENT);
        write("e/patch.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n");
        write("e/kustomization.yaml", "kind: Kustomization\nresources: [deployment.yaml]\npatches:\n  - path: patch.yaml\n");
        assertThrows(KustomizeException.class, () -> Kustomize.build(dir.resolve("e")), "one patch per file, as kustomize");

        write("d/kustomization.yaml", "kind: Kustomization\nresources: [deployment.yaml, deployment.yaml]\n");
        write("d/deployment.yaml", DEPLOYMENT);
        assertThrows(KustomizeException.class, () -> Kustomize.build(dir.resolve("d")), "duplicate resources");
    }
}
