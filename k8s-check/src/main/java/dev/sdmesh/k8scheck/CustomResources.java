package dev.sdmesh.k8scheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Shape checks for the custom resources {@code k8s/} uses, read as generic objects (no CRD schemas here): the
 * apiVersion and kind must be one of those below, the required spec fields present with the right JSON types, and
 * the spec may hold only the fields the operator's CRD defines at that level. A kind without rules is a violation, so
 * a new custom resource cannot slip through unchecked.
 */
public final class CustomResources {
    private static final Map<String, BiConsumer<JsonNode, List<String>>> RULES = Map.of(
            "keda.sh/v1alpha1 ScaledObject", CustomResources::scaledObject,
            "kafka.strimzi.io/v1beta2 Kafka", CustomResources::kafka,
            "kafka.strimzi.io/v1beta2 KafkaNodePool", CustomResources::kafkaNodePool,
            "kafka.strimzi.io/v1beta2 KafkaTopic", CustomResources::kafkaTopic,
            "monitoring.coreos.com/v1 PodMonitor", CustomResources::podMonitor,
            "monitoring.coreos.com/v1 PrometheusRule", CustomResources::prometheusRule);

    private CustomResources() {
    }

    public static List<String> violations(JsonNode resource) {
        List<String> violations = new ArrayList<>();
        String type = resource.path("apiVersion").asText() + " " + resource.path("kind").asText();
        BiConsumer<JsonNode, List<String>> rule = RULES.get(type);
        if (rule == null) violations.add("no shape rules for custom resource " + type);
        else rule.accept(resource, violations);
        return violations;
    }

    private static void scaledObject(JsonNode o, List<String> v) {
        JsonNode spec = o.path("spec");
        onlyFields(spec, "spec", Set.of("scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod",
                "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "advanced", "fallback", "triggers"), v);
        text(spec.path("scaleTargetRef"), "name", "spec.scaleTargetRef", v);
        for (String n : List.of("pollingInterval", "cooldownPeriod", "minReplicaCount", "maxReplicaCount")) {
            if (spec.has(n) && !spec.get(n).isInt()) v.add("spec." + n + " must be an integer");
        }
        if (spec.path("minReplicaCount").asInt(0) > spec.path("maxReplicaCount").asInt(100)) {
            v.add("spec.minReplicaCount exceeds spec.maxReplicaCount");
        }
        JsonNode triggers = nonEmptyArray(spec, "triggers", "spec", v);
        for (JsonNode t : triggers) {
            JsonNode metadata = t.path("metadata");
            // KEDA's trigger metadata is map[string]string: a bare number is rejected by the API server.
            for (Map.Entry<String, JsonNode> m : metadata.properties()) {
                if (!m.getValue().isTextual()) v.add("trigger metadata " + m.getKey() + " must be a string");
            }
            switch (t.path("type").asText()) {
                case "kafka" -> requireText(metadata, "trigger kafka", v, "bootstrapServers", "consumerGroup", "topic", "lagThreshold");
                case "prometheus" -> requireText(metadata, "trigger prometheus", v, "serverAddress", "query", "threshold");
                default -> v.add("trigger type '" + t.path("type").asText() + "' has no rules here");
            }
        }
    }

    private static void kafka(JsonNode o, List<String> v) {
        JsonNode spec = o.path("spec");
        onlyFields(spec, "spec", Set.of("kafka", "entityOperator", "kafkaExporter", "cruiseControl", "clusterCa",
                "clientsCa", "maintenanceTimeWindows"), v);
        JsonNode kafka = spec.path("kafka");
        if (!kafka.isObject()) v.add("spec.kafka is required");
        for (JsonNode l : nonEmptyArray(kafka, "listeners", "spec.kafka", v)) {
            text(l, "name", "listener", v);
            text(l, "type", "listener", v);
            if (!l.path("port").isInt()) v.add("listener port must be an integer");
            if (!l.path("tls").isBoolean()) v.add("listener tls must be a boolean");
        }
    }

    private static void kafkaNodePool(JsonNode o, List<String> v) {
        clusterLabel(o, v);
        JsonNode spec = o.path("spec");
        onlyFields(spec, "spec", Set.of("replicas", "roles", "storage", "resources", "jvmOptions", "template"), v);
        if (spec.path("replicas").asInt(0) < 1 || !spec.path("replicas").isInt()) v.add("spec.replicas must be an integer >= 1");
        for (JsonNode role : nonEmptyArray(spec, "roles", "spec", v)) {
            if (!Set.of("controller", "broker").contains(role.asText())) v.add("unknown role " + role);
        }
        text(spec.path("storage"), "type", "spec.storage", v);
    }

    private static void kafkaTopic(JsonNode o, List<String> v) {
        clusterLabel(o, v);
        JsonNode spec = o.path("spec");
        onlyFields(spec, "spec", Set.of("topicName", "partitions", "replicas", "config"), v);
        for (String n : List.of("partitions", "replicas")) {
            if (!spec.path(n).isInt() || spec.path(n).asInt() < 1) v.add("spec." + n + " must be an integer >= 1");
        }
        for (Map.Entry<String, JsonNode> c : spec.path("config").properties()) {
            if (!c.getValue().isValueNode()) v.add("spec.config." + c.getKey() + " must be a scalar");
        }
    }

    private static void podMonitor(JsonNode o, List<String> v) {
        JsonNode spec = o.path("spec");
        if (!spec.path("selector").isObject()) v.add("spec.selector is required");
        for (JsonNode e : nonEmptyArray(spec, "podMetricsEndpoints", "spec", v)) {
            onlyFields(e, "podMetricsEndpoint", Set.of("port", "path", "interval", "scrapeTimeout", "scheme", "relabelings"), v);
            text(e, "port", "podMetricsEndpoint", v);
        }
    }

    private static void prometheusRule(JsonNode o, List<String> v) {
        for (JsonNode g : nonEmptyArray(o.path("spec"), "groups", "spec", v)) {
            text(g, "name", "group", v);
            for (JsonNode r : nonEmptyArray(g, "rules", "group", v)) {
                onlyFields(r, "rule", Set.of("alert", "record", "expr", "for", "labels", "annotations"), v);
                if (r.has("alert") == r.has("record")) v.add("a rule needs exactly one of alert and record");
                text(r, "expr", "rule", v);
            }
        }
    }

    private static void clusterLabel(JsonNode o, List<String> v) {
        if (o.path("metadata").path("labels").path("strimzi.io/cluster").asText("").isEmpty()) {
            v.add("label strimzi.io/cluster is required");
        }
    }

    private static void onlyFields(JsonNode node, String where, Set<String> allowed, List<String> v) {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!allowed.contains(name)) v.add("unknown field " + where + "." + name);
        }
    }

    private static JsonNode nonEmptyArray(JsonNode node, String field, String where, List<String> v) {
        JsonNode a = node.path(field);
        if (!a.isArray() || a.isEmpty()) {
            v.add(where + "." + field + " must be a non-empty list");
            return MissingNode.getInstance();
        }
        return a;
    }

    private static void requireText(JsonNode node, String where, List<String> v, String... fields) {
        for (String f : fields) text(node, f, where, v);
    }

    private static void text(JsonNode node, String field, String where, List<String> v) {
        if (!node.path(field).isTextual() || node.path(field).asText().isEmpty()) v.add(where + "." + field + " is required");
    }
}
