package dev.sdmesh.k8scheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Parses manifests into fabric8's Kubernetes API model and makes the parse strict. fabric8 is lenient on purpose:
 * a field it does not know lands in the object's {@code additionalProperties}, and a value of the wrong type may
 * be coerced. So after parsing, every model object reachable from the resource is walked and any non-empty
 * {@code additionalProperties} is a violation; then the object is written back and every value of the manifest
 * must come back unchanged (same JSON type), which catches coercions such as a quoted number.
 * <p>
 * Kinds of the built-in API groups must map to a model class; kinds of other groups (custom resources: KEDA,
 * Strimzi, Prometheus Operator) parse as {@link GenericKubernetesResource}, whose content is checked by
 * {@link CustomResources} instead.
 */
public final class ApiModel {
    // Building the serializer scans every model class: once per JVM is enough.
    private static final KubernetesSerialization serialization = new KubernetesSerialization();

    /** The parsed object; throws {@link IllegalArgumentException} listing every violation. */
    public HasMetadata parseStrict(ObjectNode manifest) {
        List<String> violations = new ArrayList<>();
        HasMetadata parsed = parse(manifest, violations);
        if (!violations.isEmpty()) {
            throw new IllegalArgumentException(Kustomize.id(manifest) + ": " + String.join("; ", violations));
        }
        return parsed;
    }

    private HasMetadata parse(ObjectNode manifest, List<String> violations) {
        String apiVersion = manifest.path("apiVersion").asText("");
        String kind = manifest.path("kind").asText("");
        if (apiVersion.isEmpty() || kind.isEmpty()) violations.add("apiVersion and kind are required");
        if (manifest.path("metadata").path("name").asText("").isEmpty()) violations.add("metadata.name is required");
        if (!violations.isEmpty()) return null;

        KubernetesResource resource;
        try {
            resource = serialization.convertValue(manifest, KubernetesResource.class);
        } catch (IllegalArgumentException e) {
            violations.add("does not parse: " + e.getMessage());
            return null;
        }
        if (!(resource instanceof HasMetadata parsed)) {
            violations.add("is not an object with metadata");
            return null;
        }
        if (parsed instanceof GenericKubernetesResource generic) {
            if (StrategicMerge.isBuiltIn(apiVersion)) {
                violations.add(apiVersion + " " + kind + " is not a kind of the Kubernetes API");
            }
            // A custom resource's body is all additionalProperties by design; only its metadata is typed.
            walk(generic.getMetadata(), "metadata", violations);
            return parsed;
        }
        walk(parsed, "", violations);
        compare(manifest, serialization.convertValue(parsed, JsonNode.class), "", violations);
        return parsed;
    }

    /** Every model object reachable through fields; a field the model does not know is a violation. */
    private static void walk(Object value, String path, List<String> violations) {
        if (value == null) return;
        if (value instanceof Map<?, ?> map) {
            map.forEach((k, v) -> walk(v, path + "." + k, violations));
            return;
        }
        if (value instanceof Collection<?> list) {
            int i = 0;
            for (Object element : list) walk(element, path + "[" + i++ + "]", violations);
            return;
        }
        if (!value.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) return;
        for (Class<?> c = value.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field field : c.getDeclaredFields()) {
                if (Modifier.isStatic(field.getModifiers())) continue;
                field.setAccessible(true);
                Object fieldValue;
                try {
                    fieldValue = field.get(value);
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
                if (field.getName().equals("additionalProperties")) {
                    if (fieldValue instanceof Map<?, ?> extra && !extra.isEmpty()) {
                        for (Object key : extra.keySet()) {
                            violations.add("unknown field " + (path.isEmpty() ? "" : path.substring(1) + ".") + key);
                        }
                    }
                } else {
                    walk(fieldValue, path + "." + field.getName(), violations);
                }
            }
        }
    }

    /** Every value of the manifest must survive the round trip through the model with its JSON type. */
    private static void compare(JsonNode written, JsonNode readBack, String path, List<String> violations) {
        if (written.isObject()) {
            for (Map.Entry<String, JsonNode> field : written.properties()) {
                JsonNode back = readBack == null ? null : readBack.get(field.getKey());
                compare(field.getValue(), back, path + "." + field.getKey(), violations);
            }
        } else if (written.isArray()) {
            for (int i = 0; i < written.size(); i++) {
                compare(written.get(i), readBack == null ? null : readBack.get(i), path + "[" + i + "]", violations);
            }
        } else if (readBack == null || readBack.getNodeType() != written.getNodeType() || !readBack.asText().equals(written.asText())) {
            violations.add(path.substring(1) + ": " + written + " reads back as " + readBack);
        }
    }
}
