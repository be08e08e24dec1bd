package dev.sdmesh.k8scheck;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.MetricSpec;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Renders every overlay under k8s/overlays (every object must parse strictly, see {@link Manifests}) and checks the
 * result against the services it deploys: ports, probes and environment against each service's
 * application.properties, security settings, Kafka topics and autoscalers, GPUs, and secrets.
 */
class OverlaysTest {
    private static final Path REPO = Path.of(System.getProperty("sdmesh.repo.dir", "..")).toAbsolutePath().normalize();
    /** Deployment name = Maven module whose application.properties configures it. */
    private static final List<String> SERVICES = List.of("text-encoder-svc", "unet-svc", "vae-svc", "orchestrator");
    private static final List<String> STAGES = List.of("text-encoder-svc", "unet-svc", "vae-svc");
    /** Read by the image's run-java.sh (Quarkus' Jib base image), not by the application. */
    private static final Set<String> IMAGE_ENVIRONMENT = Set.of("JAVA_MAX_MEM_RATIO");
    private static final Set<String> HEALTH_PATHS = Set.of("/q/health/live", "/q/health/ready");
    private static final Pattern SECRET_NAME = Pattern.compile("(?i).*(SECRET|PASSWORD|ACCESS_KEY|TOKEN|CREDENTIAL).*");
    private static final Pattern URL_USERINFO = Pattern.compile("://([^/@\\s]+)@");
    private static final Pattern KUBELET_VARIABLE = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");
    private static final String GPU = "nvidia.com/gpu";
    /** Built without -Pcpu and tagged {@code <version>-cuda} (docs/operations.md, "Images"); the gpu overlays run it. */
    private static final String CUDA_TAG_SUFFIX = "-cuda";
    /** The bucket every models-sync init container mirrors into its pod. */
    private static final String MODELS_BUCKET = "sdmesh-models";
    /** unet-svc's autoscaling signal as Micrometer names it in the code. */
    private static final String UNET_QUEUE_DEPTH = "sdmesh.unet.queue.depth";
    /** Strimzi's Kafka Exporter metric and its labels, read by the HPA alternative through prometheus-adapter. */
    private static final String CONSUMER_LAG = "kafka_consumergroup_lag";

    private static final Map<String, Manifests> RENDERED = new HashMap<>();

    private static Manifests overlay(String name) {
        return RENDERED.computeIfAbsent(name, n -> Manifests.build(REPO.resolve("k8s/overlays").resolve(n)));
    }

    private static ServiceProperties properties(String service) {
        return ServiceProperties.load(REPO.resolve(service).resolve("src/main/resources/application.properties"));
    }

    private static MavenModule module(String service) {
        return MavenModule.load(REPO.resolve(service).resolve("pom.xml"));
    }

    /** Every directory under k8s/overlays, so a new overlay is checked without touching this test. */
    static Stream<String> overlays() throws IOException {
        try (Stream<Path> dirs = Files.list(REPO.resolve("k8s/overlays"))) {
            List<String> names = dirs.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
            assertFalse(names.isEmpty(), "no overlays under " + REPO);
            return names.stream();
        }
    }

    /** By convention an overlay named gpu* runs unet-svc on GPUs. */
    static Stream<String> gpuOverlays() throws IOException {
        return overlays().filter(name -> name.startsWith("gpu"));
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void everyServiceHasADeploymentServicesAndADisruptionBudget(String name) {
        Manifests m = overlay(name);
        for (String service : SERVICES) {
            Deployment d = m.get(Deployment.class, service);
            Map<String, String> podLabels = d.getSpec().getTemplate().getMetadata().getLabels();
            assertTrue(labelsMatch(d.getSpec().getSelector().getMatchLabels(), podLabels), service + " selector");
            PodDisruptionBudget pdb = m.get(PodDisruptionBudget.class, service);
            assertTrue(labelsMatch(pdb.getSpec().getSelector().getMatchLabels(), podLabels), service + " PDB selector");
            Service svc = m.get(Service.class, service);
            assertServes(svc, d);
        }
        for (String stage : STAGES) {
            Service headless = m.get(Service.class, stage + "-headless");
            assertEquals("None", headless.getSpec().getClusterIP(), stage + "-headless must be headless");
            assertServes(headless, m.get(Deployment.class, stage));
        }
    }

    /** The Service selects the Deployment's pods and each port reaches the service port. */
    private static void assertServes(Service svc, Deployment d) {
        String name = svc.getMetadata().getName();
        assertTrue(labelsMatch(svc.getSpec().getSelector(), d.getSpec().getTemplate().getMetadata().getLabels()), name + " selector");
        Container main = mainContainer(d);
        int port = properties(d.getMetadata().getName()).port();
        for (ServicePort p : svc.getSpec().getPorts()) {
            assertEquals(port, p.getPort(), name + " port");
            assertEquals(port, resolvePort(main, p.getTargetPort()), name + " targetPort");
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void portsProbesAndEnvironmentMatchEachServicesApplicationProperties(String name) {
        Manifests m = overlay(name);
        for (String service : SERVICES) {
            Deployment d = m.get(Deployment.class, service);
            ServiceProperties props = properties(service);
            Container c = mainContainer(d);
            int port = props.port();

            assertEquals(List.of(port), c.getPorts().stream().map(ContainerPort::getContainerPort).toList(), service + " container port");
            assertEquals(String.valueOf(port), d.getSpec().getTemplate().getMetadata().getAnnotations().get("prometheus.io/port"));
            assertNotNull(c.getLivenessProbe(), service + " liveness");
            assertNotNull(c.getReadinessProbe(), service + " readiness");
            for (Probe probe : Stream.of(c.getStartupProbe(), c.getLivenessProbe(), c.getReadinessProbe()).filter(Objects::nonNull).toList()) {
                if (probe.getGrpc() != null) {
                    // grpc.health.v1.Health is on unless this key (Quarkus 3.32's name) turns it off.
                    assertNotEquals("false", props.resolve("quarkus.grpc.server.grpc-health.enabled"), service + " serves no gRPC health");
                    assertEquals(port, probe.getGrpc().getPort(), service + " gRPC probe port");
                } else {
                    assertNotNull(probe.getHttpGet(), service + ": probes are gRPC health or /q/health");
                    assertTrue(HEALTH_PATHS.contains(probe.getHttpGet().getPath()), service + " probe path " + probe.getHttpGet().getPath());
                    assertEquals(port, resolvePort(c, probe.getHttpGet().getPort()), service + " probe port");
                }
            }
            assertEquals("/q/health/live", c.getLivenessProbe().getHttpGet().getPath(), service + " liveness");
            // /q/health and /q/metrics exist only with these extensions.
            MavenModule pom = module(service);
            for (String extension : List.of("quarkus-smallrye-health", "quarkus-micrometer-registry-prometheus", "quarkus-grpc")) {
                assertTrue(pom.dependsOn("io.quarkus:" + extension), service + " lacks " + extension);
            }

            Map<String, String> env = environment(m, c);
            Set<String> allowed = new HashSet<>(props.environmentNames());
            allowed.addAll(IMAGE_ENVIRONMENT);
            for (String variable : env.keySet()) {
                assertTrue(allowed.contains(variable), service + ": " + variable + " configures nothing in its application.properties");
            }
            assertEquals("0.0.0.0", env.get("SDMESH_BIND_HOST"), service + " must listen beyond loopback");
            String modelsDir = env.get("SDMESH_MODELS_DIR");
            assertTrue(c.getVolumeMounts().stream().anyMatch(v -> v.getMountPath().equals(modelsDir)), service + " models dir is mounted");
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void eachServiceRunsTheImageItsQuarkusJibBuildProduces(String name) {
        Manifests m = overlay(name);
        for (String service : SERVICES) {
            MavenModule pom = module(service);
            assertTrue(pom.dependsOn("io.quarkus:quarkus-container-image-jib"), service + " has no quarkus-container-image-jib: nothing builds its image");
            String built = ContainerImage.reference(pom, properties(service));
            boolean cudaBuild = name.startsWith("gpu") && service.equals("unet-svc");
            assertEquals(cudaBuild ? built + CUDA_TAG_SUFFIX : built, mainContainer(m.get(Deployment.class, service)).getImage(), service + " image");
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void everyServiceSyncsTheModelsBucketIntoItsModelsDirBeforeStarting(String name) {
        Manifests m = overlay(name);
        for (String service : SERVICES) {
            Deployment d = m.get(Deployment.class, service);
            PodSpec spec = d.getSpec().getTemplate().getSpec();
            Container main = mainContainer(d);
            String modelsDir = environment(m, main).get("SDMESH_MODELS_DIR");
            VolumeMount models = main.getVolumeMounts().stream().filter(v -> v.getMountPath().equals(modelsDir)).findFirst()
                    .orElseThrow(() -> new AssertionError(service + ": nothing mounted at SDMESH_MODELS_DIR " + modelsDir));
            assertEquals(Boolean.TRUE, models.getReadOnly(), service + " only reads its models");
            Volume volume = spec.getVolumes().stream().filter(v -> v.getName().equals(models.getName())).findFirst().orElseThrow();
            assertNotNull(volume.getEmptyDir(), service + ": the models volume is pod-local, filled by the init container");

            Container sync = spec.getInitContainers().stream().filter(c -> c.getName().equals("models-sync")).findFirst()
                    .orElseThrow(() -> new AssertionError(service + " has no models-sync init container"));
            String target = sync.getVolumeMounts().stream().filter(v -> v.getName().equals(models.getName()))
                    .filter(v -> !Boolean.TRUE.equals(v.getReadOnly())).map(VolumeMount::getMountPath).findFirst()
                    .orElseThrow(() -> new AssertionError(service + ": models-sync does not write the models volume"));
            Map<String, String> env = environment(m, sync);
            List<String> args = sync.getArgs().stream().map(a -> expandVariables(a, env)).toList();
            assertTrue(args.contains("mirror"), service + " models-sync mirrors: " + args);
            assertEquals(List.of("models/" + MODELS_BUCKET, target), args.subList(args.size() - 2, args.size()),
                    service + ": mirror the bucket into the mounted models volume");
            assertTrue(env.get("MC_HOST_models").matches("\\$\\(S3_SCHEME\\)://.*@\\$\\(S3_HOST\\):\\$\\(S3_PORT\\)"),
                    service + ": the alias models points at the S3 endpoint of sdmesh-storage");
            boolean weightsExcluded = args.contains("--exclude=*.onnx");
            assertEquals(service.equals("orchestrator"), weightsExcluded, service + ": only the orchestrator skips the weights");
        }
        m.find(Job.class, "minio-buckets").ifPresent(job -> assertTrue(
                job.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs().contains("s3/" + MODELS_BUCKET),
                "the bundled MinIO has the models bucket"));
    }

    /** The kubelet's expansion of {@code $(VAR)} in args from the container's environment; unknown names stay. */
    private static String expandVariables(String arg, Map<String, String> env) {
        Matcher m = KUBELET_VARIABLE.matcher(arg);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String value = env.get(m.group(1));
            m.appendReplacement(out, Matcher.quoteReplacement(value != null ? value : m.group()));
        }
        m.appendTail(out);
        return out.toString();
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void theOrchestratorReachesEveryStageThroughItsHeadlessService(String name) {
        Manifests m = overlay(name);
        Map<String, String> env = environment(m, mainContainer(m.get(Deployment.class, "orchestrator")));
        Set<String> stageVariables = Set.of("SDMESH_STAGES_TEXT_ENCODER_ADDRESSES", "SDMESH_STAGES_UNET_ADDRESSES", "SDMESH_STAGES_VAE_ADDRESSES");
        assertTrue(properties("orchestrator").environmentNames().containsAll(stageVariables));
        for (String stage : STAGES) {
            String variable = "SDMESH_STAGES_" + ServiceProperties.environmentName(stage.replace("-svc", "")) + "_ADDRESSES";
            assertTrue(stageVariables.contains(variable));
            String target = env.get(variable);
            assertEquals("dns:///" + stage + "-headless:" + properties(stage).port(), target, variable);
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void podsRunAsNonRootWithAReadOnlyRootAndNoCapabilitiesNoTokenAndBoundedResources(String name) {
        Manifests m = overlay(name);
        ServiceAccount sa = m.get(ServiceAccount.class, "sdmesh");
        assertEquals(Boolean.FALSE, sa.getAutomountServiceAccountToken());
        assertTrue(m.all(RoleBinding.class).isEmpty() && m.all(ClusterRoleBinding.class).isEmpty(), "the service account gets no rights");

        for (Map.Entry<String, PodSpec> pod : podSpecs(m).entrySet()) {
            String where = pod.getKey();
            PodSpec spec = pod.getValue();
            assertEquals("sdmesh", spec.getServiceAccountName(), where);
            assertEquals(Boolean.FALSE, spec.getAutomountServiceAccountToken(), where);
            assertEquals(Boolean.TRUE, spec.getSecurityContext().getRunAsNonRoot(), where);
            assertTrue(spec.getSecurityContext().getRunAsUser() > 0, where);
            Set<String> emptyDirs = new HashSet<>();
            for (Volume v : spec.getVolumes()) if (v.getEmptyDir() != null) emptyDirs.add(v.getName());
            for (Container c : allContainers(spec)) {
                String at = where + "/" + c.getName();
                assertEquals(Boolean.TRUE, c.getSecurityContext().getReadOnlyRootFilesystem(), at);
                assertEquals(Boolean.FALSE, c.getSecurityContext().getAllowPrivilegeEscalation(), at);
                assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop(), at);
                assertTrue(c.getVolumeMounts().stream().anyMatch(v -> v.getMountPath().equals("/tmp") && emptyDirs.contains(v.getName())),
                        at + ": /tmp must be a writable emptyDir");
                for (String resource : List.of("cpu", "memory")) {
                    assertNotNull(c.getResources().getRequests().get(resource), at + " requests " + resource);
                    assertNotNull(c.getResources().getLimits().get(resource), at + " limits " + resource);
                }
                assertTrue(c.getImage().contains(":") && !c.getImage().endsWith(":latest"), at + " image must be pinned: " + c.getImage());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void noLiteralSecrets(String name) {
        Manifests m = overlay(name);
        assertTrue(m.all(Secret.class).isEmpty(), "Secrets are created out of band, never rendered");
        for (ConfigMap cm : m.all(ConfigMap.class)) {
            for (String key : cm.getData().keySet()) {
                assertFalse(SECRET_NAME.matcher(key).matches(), cm.getMetadata().getName() + " holds " + key);
            }
        }
        for (Map.Entry<String, PodSpec> pod : podSpecs(m).entrySet()) {
            for (Container c : allContainers(pod.getValue())) {
                for (EnvVar e : c.getEnv()) {
                    String at = pod.getKey() + "/" + c.getName() + " " + e.getName();
                    if (SECRET_NAME.matcher(e.getName()).matches()) {
                        assertTrue(e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null, at + " must come from a Secret");
                    }
                    if (e.getValue() != null) {
                        Matcher userinfo = URL_USERINFO.matcher(e.getValue());
                        while (userinfo.find()) {
                            assertTrue(userinfo.group(1).matches("(\\$\\([A-Z0-9_]+\\):?)+"), at + " has credentials in a URL");
                        }
                    }
                    if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null) {
                        assertEquals("sdmesh-s3-credentials", e.getValueFrom().getSecretKeyRef().getName(), at);
                        assertTrue(Set.of("access-key", "secret-key").contains(e.getValueFrom().getSecretKeyRef().getKey()), at);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void kafkaTopicsMatchTheOrchestratorAndHaveAPartitionPerOrchestratorReplica(String name) {
        Manifests m = overlay(name);
        ServiceProperties orchestrator = properties("orchestrator");
        Map<String, JsonNode> topics = new LinkedHashMap<>();
        m.custom("KafkaTopic").forEach(t -> topics.put(t.path("spec").path("topicName").asText(t.path("metadata").path("name").asText()), t));
        assertEquals(Set.of(orchestrator.resolve("sdmesh.kafka.requests-topic"), orchestrator.resolve("sdmesh.kafka.events-topic"),
                orchestrator.resolve("sdmesh.kafka.dlq-topic")), topics.keySet());

        int partitions = topics.get(orchestrator.resolve("sdmesh.kafka.requests-topic")).path("spec").path("partitions").asInt();
        int maxReplicas = maxReplicas(m, "orchestrator")
                .orElse(Optional.ofNullable(m.get(Deployment.class, "orchestrator").getSpec().getReplicas()).orElse(1));
        assertTrue(partitions >= maxReplicas, "requests partitions " + partitions + " < orchestrator replicas " + maxReplicas);
        Map<String, String> env = environment(m, mainContainer(m.get(Deployment.class, "orchestrator")));
        assertEquals(String.valueOf(partitions), env.get("SDMESH_KAFKA_PARTITIONS"), "topics the orchestrator would create itself");

        List<JsonNode> clusters = m.custom("Kafka");
        for (JsonNode topic : topics.values()) {
            String cluster = topic.path("metadata").path("labels").path("strimzi.io/cluster").asText();
            assertEquals(bootstrapCluster(env.get("SDMESH_KAFKA_BOOTSTRAP")), cluster, "topics belong to the cluster the orchestrator uses");
            int brokers = clusters.isEmpty() ? Integer.MAX_VALUE : brokers(m, cluster);
            assertTrue(topic.path("spec").path("replicas").asInt() <= brokers, "more topic replicas than brokers");
        }
        for (JsonNode pool : m.custom("KafkaNodePool")) {
            String cluster = pool.path("metadata").path("labels").path("strimzi.io/cluster").asText();
            assertTrue(clusters.stream().anyMatch(k -> k.path("metadata").path("name").asText().equals(cluster)), "node pool of an unknown cluster");
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void autoscalersTargetRealDeploymentsOnceAndReadTheRightSignals(String name) {
        Manifests m = overlay(name);
        Set<String> targeted = new HashSet<>();
        ServiceProperties orchestrator = properties("orchestrator");
        Map<String, String> env = environment(m, mainContainer(m.get(Deployment.class, "orchestrator")));
        for (JsonNode so : m.custom("ScaledObject")) {
            String target = so.path("spec").path("scaleTargetRef").path("name").asText();
            assertTrue(m.find(Deployment.class, target).isPresent(), "ScaledObject targets " + target);
            assertTrue(targeted.add(target), target + " has two autoscalers");
            for (JsonNode trigger : so.path("spec").path("triggers")) {
                JsonNode md = trigger.path("metadata");
                if (trigger.path("type").asText().equals("kafka")) {
                    assertReadsRequestsLag(orchestrator, md.path("consumerGroup").asText(), md.path("topic").asText(), "ScaledObject " + target);
                    assertEquals(env.get("SDMESH_KAFKA_BOOTSTRAP"), md.path("bootstrapServers").asText());
                } else {
                    assertTrue(md.path("query").asText().contains(unetQueueDepthMetric() + "{namespace=\""
                            + so.path("metadata").path("namespace").asText() + "\"}"), "queue depth of this namespace");
                }
            }
        }
        for (HorizontalPodAutoscaler hpa : m.all(HorizontalPodAutoscaler.class)) {
            String target = hpa.getSpec().getScaleTargetRef().getName();
            assertEquals("Deployment", hpa.getSpec().getScaleTargetRef().getKind());
            assertTrue(m.find(Deployment.class, target).isPresent(), "HPA targets " + target);
            assertTrue(targeted.add(target), target + " has two autoscalers");
            assertEquals(1, hpa.getSpec().getMetrics().size(), "HPA " + target + " scales on one signal");
            MetricSpec metric = hpa.getSpec().getMetrics().get(0);
            if (target.equals("orchestrator")) {
                assertEquals("External", metric.getType(), "HPA orchestrator");
                assertEquals(CONSUMER_LAG, metric.getExternal().getMetric().getName());
                Map<String, String> labels = metric.getExternal().getMetric().getSelector().getMatchLabels();
                assertReadsRequestsLag(orchestrator, labels.get("consumergroup"), labels.get("topic"), "HPA orchestrator");
            } else {
                assertEquals("unet-svc", target, "only the orchestrator and unet-svc autoscale");
                assertEquals("Pods", metric.getType(), "HPA unet-svc: queue depth per pod");
                assertEquals(unetQueueDepthMetric(), metric.getPods().getMetric().getName());
            }
        }
        for (String target : targeted) {
            // kubectl apply would reset the autoscaler's count to a declared replicas on every apply.
            assertNull(m.get(Deployment.class, target).getSpec().getReplicas(), target + " is autoscaled: no replicas");
        }
        if (name.startsWith("gpu")) assertEquals(Set.of("orchestrator", "unet-svc"), targeted);
    }

    @ParameterizedTest
    @MethodSource("gpuOverlays")
    void gpuOverlaysGiveEachUnetPodExactlyOneGpuAndNothingElseAny(String name) {
        Manifests m = overlay(name);
        Deployment unet = m.get(Deployment.class, "unet-svc");
        PodSpec spec = unet.getSpec().getTemplate().getSpec();
        Container c = mainContainer(unet);
        assertEquals(new Quantity("1"), c.getResources().getLimits().get(GPU), "one GPU per pod");
        Quantity requested = c.getResources().getRequests().get(GPU);
        assertTrue(requested == null || requested.equals(new Quantity("1")), "a GPU request equals its limit");
        assertEquals("cuda:0", environment(m, c).get("SDMESH_UNET_DEVICE"));
        assertEquals("true", spec.getNodeSelector().get("nvidia.com/gpu.present"));
        assertTrue(spec.getTolerations().stream().anyMatch(t -> GPU.equals(t.getKey())));
        for (Map.Entry<String, PodSpec> pod : podSpecs(m).entrySet()) {
            for (Container other : allContainers(pod.getValue())) {
                if (other != c) assertNoGpu(other, pod.getKey());
            }
        }
        // The one knob, the GPU count, is the autoscaler's maximum.
        assertTrue(maxReplicas(m, "unet-svc").orElseThrow(() -> new AssertionError("unet-svc has no autoscaler")) >= 1);
    }

    private static void assertNoGpu(Container c, String where) {
        for (Map<String, Quantity> resources : List.of(c.getResources().getLimits(), c.getResources().getRequests())) {
            assertFalse(resources.containsKey(GPU), where + "/" + c.getName() + " must not take a GPU");
        }
    }

    @Test
    void theCpuOverlayRunsEverythingOnCpuWithItsOwnKafkaAndMinio() {
        Manifests m = overlay("cpu");
        for (Map.Entry<String, PodSpec> pod : podSpecs(m).entrySet()) {
            for (Container c : allContainers(pod.getValue())) assertNoGpu(c, pod.getKey());
        }
        for (String stage : STAGES) {
            Map<String, String> env = environment(m, mainContainer(m.get(Deployment.class, stage)));
            String device = "SDMESH_" + ServiceProperties.environmentName(stage.replace("-svc", "")) + "_DEVICE";
            assertEquals("cpu", env.get(device), stage);
        }
        StatefulSet minio = m.get(StatefulSet.class, "minio");
        ConfigMap storage = m.get(ConfigMap.class, "sdmesh-storage");
        assertTrue(m.find(Service.class, storage.getData().get("S3_HOST")).isPresent(), "S3_HOST is the MinIO Service");
        assertTrue(minio.getSpec().getTemplate().getSpec().getContainers().get(0).getPorts().stream()
                .anyMatch(p -> String.valueOf(p.getContainerPort()).equals(storage.getData().get("S3_PORT"))));
        assertTrue(m.find(Job.class, "minio-buckets").isPresent());
        assertEquals(1, m.custom("Kafka").size());
    }

    // ---- helpers ----

    private static void assertReadsRequestsLag(ServiceProperties orchestrator, String consumerGroup, String topic, String where) {
        assertEquals(orchestrator.resolve("sdmesh.kafka.group-id"), consumerGroup, where + " consumer group");
        assertEquals(orchestrator.resolve("sdmesh.kafka.requests-topic"), topic, where + " topic");
    }

    /** The queue-depth gauge's Prometheus name, provided unet-svc's code still registers it. */
    private static String unetQueueDepthMetric() {
        String metric = MeterNames.prometheusName(UNET_QUEUE_DEPTH);
        Set<String> gauges = MeterNames.prometheusGauges(REPO.resolve("unet-svc/src/main/java"));
        assertTrue(gauges.contains(metric), "unet-svc registers no gauge " + UNET_QUEUE_DEPTH + ", only " + gauges);
        return metric;
    }

    private static Optional<Integer> maxReplicas(Manifests m, String deployment) {
        for (JsonNode so : m.custom("ScaledObject")) {
            if (so.path("spec").path("scaleTargetRef").path("name").asText().equals(deployment)) {
                return Optional.of(so.path("spec").path("maxReplicaCount").asInt());
            }
        }
        return m.all(HorizontalPodAutoscaler.class).stream()
                .filter(h -> h.getSpec().getScaleTargetRef().getName().equals(deployment))
                .map(h -> h.getSpec().getMaxReplicas()).findFirst();
    }

    /** Strimzi names the bootstrap Service {@code <cluster>-kafka-bootstrap}. */
    private static String bootstrapCluster(String bootstrap) {
        String host = bootstrap.substring(0, bootstrap.indexOf(':'));
        assertTrue(host.endsWith("-kafka-bootstrap"), "bootstrap is a Strimzi bootstrap Service: " + bootstrap);
        return host.substring(0, host.length() - "-kafka-bootstrap".length());
    }

    private static int brokers(Manifests m, String cluster) {
        return m.custom("KafkaNodePool").stream()
                .filter(p -> p.path("metadata").path("labels").path("strimzi.io/cluster").asText().equals(cluster))
                .filter(p -> p.path("spec").path("roles").toString().contains("broker"))
                .mapToInt(p -> p.path("spec").path("replicas").asInt()).sum();
    }

    private static Map<String, PodSpec> podSpecs(Manifests m) {
        Map<String, PodSpec> pods = new LinkedHashMap<>();
        for (Deployment d : m.all(Deployment.class)) pods.put("Deployment/" + d.getMetadata().getName(), d.getSpec().getTemplate().getSpec());
        for (StatefulSet s : m.all(StatefulSet.class)) pods.put("StatefulSet/" + s.getMetadata().getName(), s.getSpec().getTemplate().getSpec());
        for (Job j : m.all(Job.class)) pods.put("Job/" + j.getMetadata().getName(), j.getSpec().getTemplate().getSpec());
        assertFalse(pods.isEmpty());
        return pods;
    }

    private static List<Container> allContainers(PodSpec spec) {
        List<Container> all = new ArrayList<>(spec.getInitContainers());
        all.addAll(spec.getContainers());
        return all;
    }

    private static Container mainContainer(Deployment d) {
        PodTemplateSpec template = d.getSpec().getTemplate();
        return template.getSpec().getContainers().stream()
                .filter(c -> c.getName().equals(d.getMetadata().getName())).findFirst()
                .orElseThrow(() -> new AssertionError(d.getMetadata().getName() + " has no container of its own name"));
    }

    /** The container's environment as the kubelet builds it: envFrom ConfigMaps first, then env (values or refs). */
    private static Map<String, String> environment(Manifests m, Container c) {
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvFromSource from : c.getEnvFrom()) {
            assertNotNull(from.getConfigMapRef(), c.getName() + ": envFrom only from ConfigMaps");
            String name = from.getConfigMapRef().getName();
            env.putAll(m.find(ConfigMap.class, name).orElseThrow(() -> new AssertionError("no ConfigMap " + name)).getData());
        }
        for (EnvVar e : c.getEnv()) {
            if (e.getValueFrom() != null && e.getValueFrom().getConfigMapKeyRef() != null) {
                var ref = e.getValueFrom().getConfigMapKeyRef();
                ConfigMap cm = m.find(ConfigMap.class, ref.getName()).orElseThrow(() -> new AssertionError("no ConfigMap " + ref.getName()));
                String value = cm.getData().get(ref.getKey());
                if (value == null) fail(c.getName() + " " + e.getName() + ": no key " + ref.getKey() + " in " + ref.getName());
                env.put(e.getName(), value);
            } else {
                env.put(e.getName(), e.getValue());
            }
        }
        return env;
    }

    private static int resolvePort(Container c, IntOrString port) {
        if (port.getIntVal() != null) return port.getIntVal();
        return c.getPorts().stream().filter(p -> port.getStrVal().equals(p.getName())).findFirst()
                .orElseThrow(() -> new AssertionError(c.getName() + " has no port named " + port.getStrVal())).getContainerPort();
    }

    private static boolean labelsMatch(Map<String, String> selector, Map<String, String> labels) {
        return selector != null && !selector.isEmpty() && labels.entrySet().containsAll(selector.entrySet());
    }
}
