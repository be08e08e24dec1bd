package dev.sdmesh.k8scheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Map;

/**
 * A strategic-merge patch as kubectl and kustomize apply it, for the lists {@code k8s/} patches. Maps merge
 * recursively and a {@code null} value deletes its key. Lists of the built-in API merge element by element on
 * their merge key (containers, env, volumes by {@code name}; volume mounts by {@code mountPath}; container ports by
 * {@code containerPort}, Service ports by {@code port}); every other list is replaced. Custom resources (an API group
 * with a dot that is not {@code *.k8s.io}) have no merge keys: they get a JSON merge patch (RFC 7386), lists replaced.
 * The {@code $patch}, {@code $retainKeys} and other directives are not supported and are rejected.
 */
public final class StrategicMerge {
    private static final Map<String, String> MERGE_KEYS = Map.of(
            "containers", "name",
            "initContainers", "name",
            "ephemeralContainers", "name",
            "env", "name",
            "volumes", "name",
            "imagePullSecrets", "name",
            "volumeMounts", "mountPath");

    private StrategicMerge() {
    }

    /** Applies {@code patch} to {@code target} in place; the patch's identity (apiVersion, kind, name) is not copied. */
    public static void apply(ObjectNode target, ObjectNode patch) {
        ObjectNode body = patch.deepCopy();
        body.remove("apiVersion");
        body.remove("kind");
        if (body.path("metadata").isObject()) {
            ObjectNode metadata = (ObjectNode) body.get("metadata");
            metadata.remove("name");
            metadata.remove("namespace");
        }
        mergeObject(target, body, isBuiltIn(target.path("apiVersion").asText()));
    }

    static boolean isBuiltIn(String apiVersion) {
        int slash = apiVersion.indexOf('/');
        if (slash < 0) return true;
        String group = apiVersion.substring(0, slash);
        return !group.contains(".") || group.endsWith(".k8s.io");
    }

    private static void mergeObject(ObjectNode target, ObjectNode patch, boolean strategic) {
        for (Map.Entry<String, JsonNode> field : patch.properties()) {
            String name = field.getKey();
            JsonNode value = field.getValue();
            if (name.startsWith("$")) throw new KustomizeException("patch directive " + name + " is not supported");
            JsonNode existing = target.get(name);
            if (value.isNull()) {
                target.remove(name);
            } else if (value.isObject() && existing != null && existing.isObject()) {
                mergeObject((ObjectNode) existing, (ObjectNode) value, strategic);
            } else if (value.isArray() && existing != null && existing.isArray() && strategic && mergeKey(name, value) != null) {
                mergeList((ArrayNode) existing, (ArrayNode) value, mergeKey(name, value), strategic);
            } else {
                target.set(name, value.deepCopy());
            }
        }
    }

    private static String mergeKey(String field, JsonNode patchList) {
        if (field.equals("ports")) {
            JsonNode first = patchList.path(0);
            return first.has("containerPort") ? "containerPort" : "port";
        }
        return MERGE_KEYS.get(field);
    }

    /** Elements with the same key merge; new keys are appended in patch order. */
    private static void mergeList(ArrayNode target, ArrayNode patch, String key, boolean strategic) {
        for (JsonNode element : patch) {
            if (!element.isObject() || !element.has(key)) {
                throw new KustomizeException("list element without its merge key '" + key + "': " + element);
            }
            ObjectNode match = null;
            for (JsonNode candidate : target) {
                if (candidate.path(key).equals(element.get(key))) match = (ObjectNode) candidate;
            }
            if (match == null) target.add(element.deepCopy());
            else mergeObject(match, (ObjectNode) element, strategic);
        }
    }
}
