package dev.sdmesh.k8scheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;

/**
 * One rendered kustomization, every object parsed strictly ({@link ApiModel}) and every custom resource
 * shape-checked ({@link CustomResources}): building it fails on the first object that is not valid.
 */
public final class Manifests {
    private final List<ObjectNode> raw;
    private final List<HasMetadata> parsed = new ArrayList<>();

    private Manifests(List<ObjectNode> raw) {
        this.raw = List.copyOf(raw);
        ApiModel model = new ApiModel();
        for (ObjectNode o : raw) {
            HasMetadata object = model.parseStrict(o);
            if (object instanceof GenericKubernetesResource) {
                List<String> violations = CustomResources.violations(o);
                if (!violations.isEmpty()) {
                    throw new IllegalArgumentException(Kustomize.id(o) + ": " + String.join("; ", violations));
                }
            }
            parsed.add(object);
        }
    }

    /** Renders {@code dir} with {@link Kustomize} and validates every object. */
    public static Manifests build(Path dir) {
        return new Manifests(Kustomize.build(dir));
    }

    public List<ObjectNode> raw() {
        return raw;
    }

    /** The typed objects of one model class, e.g. {@code Deployment.class}. */
    public <T extends HasMetadata> List<T> all(Class<T> type) {
        return parsed.stream().filter(type::isInstance).map(type::cast).toList();
    }

    public <T extends HasMetadata> Optional<T> find(Class<T> type, String name) {
        return all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst();
    }

    public <T extends HasMetadata> T get(Class<T> type, String name) {
        return find(type, name).orElseThrow(() -> new NoSuchElementException(type.getSimpleName() + " " + name));
    }

    /** Custom resources of a kind, as their manifests (their spec has no model class). */
    public List<JsonNode> custom(String kind) {
        return raw.stream().filter(o -> o.path("kind").asText().equals(kind)).map(o -> (JsonNode) o).toList();
    }
}
