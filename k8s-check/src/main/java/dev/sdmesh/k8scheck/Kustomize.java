package dev.sdmesh.k8scheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Renders a kustomization directory the way {@code kustomize build} does, for the small subset of Kustomize that
 * {@code k8s/} uses (there is no kustomize binary in CI). Anything outside the subset is rejected rather than ignored,
 * so a manifest can never rely on a feature this renderer silently skips.
 * <p>
 * The subset:
 * <ul>
 *   <li>{@code resources}: YAML files (several documents each) and directories holding a {@code kustomization.yaml};</li>
 *   <li>{@code components}: directories holding a {@code kind: Component} kustomization; its resources join the
 *       parent's and its transformers then run over everything accumulated so far;</li>
 *   <li>{@code patches}: {@code path} to a file holding one strategic-merge patch ({@link StrategicMerge}; one
 *       document, as kustomize requires for this field); without {@code target} it applies to the object of its kind
 *       and name, with a {@code target} ({@code kind}, {@code name}, {@code labelSelector} of {@code k=v} terms) to
 *       every match; a patch that matches nothing is an error;</li>
 *   <li>{@code namespace}: set on every namespaced object;</li>
 *   <li>{@code labels}: {@code pairs} added to {@code metadata.labels}, and with {@code includeTemplates: true} to pod
 *       templates; {@code includeSelectors: true} is not supported;</li>
 *   <li>{@code images}: {@code name} matched against {@code containers}/{@code initContainers} images (without tag or
 *       digest), replaced by {@code newName}, {@code newTag}, {@code digest}.</li>
 * </ul>
 * A kustomization's transformers run in this order: patches, namespace, labels, images (so a patch target selects
 * on the labels the resources were written with).
 */
public final class Kustomize {
    private static final Set<String> KUSTOMIZATION_FIELDS =
            Set.of("apiVersion", "kind", "resources", "components", "patches", "namespace", "labels", "images");
    private static final Set<String> CLUSTER_SCOPED = Set.of("Namespace", "ClusterRole", "ClusterRoleBinding",
            "CustomResourceDefinition", "PersistentVolume", "StorageClass", "PriorityClass");
    private static final YAMLMapper YAML = new YAMLMapper();

    private Kustomize() {
    }

    /** The objects {@code kustomize build dir} would print, in resource order. */
    public static List<ObjectNode> build(Path dir) {
        return build(dir, "Kustomization");
    }

    /** Every non-empty YAML document of a file, each an object. */
    public static List<ObjectNode> readDocuments(Path file) {
        List<ObjectNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc == null || doc.isNull() || doc.isMissingNode()) continue;
                if (!doc.isObject()) throw new KustomizeException(file + ": a document is not a mapping");
                docs.add((ObjectNode) doc);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(file.toString(), e);
        }
        return docs;
    }

    private static List<ObjectNode> build(Path dir, String kind) {
        List<ObjectNode> objects = new ArrayList<>();
        accumulate(dir, kind, objects);
        requireUniqueIds(dir, objects);
        return objects;
    }

    /**
     * Adds the kustomization's resources and components to {@code objects}, then runs its transformers over all of
     * {@code objects}: for a Kustomization that is exactly its own output; for a Component it includes what the
     * parent had accumulated before it, which is what makes a component able to patch its parent's resources.
     */
    private static void accumulate(Path dir, String kind, List<ObjectNode> objects) {
        Path file = dir.resolve("kustomization.yaml");
        if (!Files.isRegularFile(file)) throw new KustomizeException(dir + ": no kustomization.yaml");
        List<ObjectNode> docs = readDocuments(file);
        if (docs.size() != 1) throw new KustomizeException(file + ": expected one document");
        ObjectNode k = docs.get(0);
        for (Iterator<String> names = k.fieldNames(); names.hasNext(); ) {
            String field = names.next();
            if (!KUSTOMIZATION_FIELDS.contains(field)) {
                throw new KustomizeException(file + ": '" + field + "' is outside the supported Kustomize subset");
            }
        }
        if (!kind.equals(k.path("kind").asText(null))) throw new KustomizeException(file + ": kind must be " + kind);

        for (JsonNode entry : list(k, "resources")) {
            Path p = dir.resolve(entry.asText()).normalize();
            if (Files.isDirectory(p)) objects.addAll(build(p, "Kustomization"));
            else if (Files.isRegularFile(p)) objects.addAll(readDocuments(p));
            else throw new KustomizeException(file + ": resource " + entry.asText() + " does not exist");
        }
        for (JsonNode entry : list(k, "components")) {
            accumulate(dir.resolve(entry.asText()).normalize(), "Component", objects);
        }
        transform(dir, k, objects);
    }

    private static void transform(Path dir, ObjectNode k, List<ObjectNode> objects) {
        for (JsonNode patch : list(k, "patches")) applyPatch(dir, patch, objects);
        if (k.hasNonNull("namespace")) {
            String ns = k.get("namespace").asText();
            for (ObjectNode o : objects) {
                if (!CLUSTER_SCOPED.contains(o.path("kind").asText())) metadata(o).put("namespace", ns);
            }
        }
        for (JsonNode label : list(k, "labels")) addLabels(label, objects);
        for (JsonNode image : list(k, "images")) objects.forEach(o -> setImage(o, image));
    }

    private static void applyPatch(Path dir, JsonNode spec, List<ObjectNode> objects) {
        for (Iterator<String> names = spec.fieldNames(); names.hasNext(); ) {
            String field = names.next();
            if (!Set.of("path", "target").contains(field)) {
                throw new KustomizeException(dir + ": patch field '" + field + "' is outside the supported subset");
            }
        }
        if (!spec.hasNonNull("path")) throw new KustomizeException(dir + ": a patch needs a path");
        List<ObjectNode> docs = readDocuments(dir.resolve(spec.get("path").asText()));
        if (docs.size() != 1) throw new KustomizeException(dir + ": patch " + spec.get("path").asText() + " must hold one document");
        ObjectNode patch = docs.get(0);
        JsonNode target = spec.get("target");
        List<ObjectNode> matches = objects.stream()
                .filter(o -> target == null ? sameKindAndName(o, patch) : matches(o, target))
                .toList();
        if (matches.isEmpty()) throw new KustomizeException(dir + ": patch " + id(patch) + " matches no resource");
        for (ObjectNode o : matches) StrategicMerge.apply(o, patch);
    }

    private static boolean sameKindAndName(ObjectNode o, ObjectNode patch) {
        return o.path("kind").equals(patch.path("kind"))
                && o.path("metadata").path("name").equals(patch.path("metadata").path("name"));
    }

    private static boolean matches(ObjectNode o, JsonNode target) {
        for (Iterator<String> names = target.fieldNames(); names.hasNext(); ) {
            String field = names.next();
            if (!Set.of("kind", "name", "labelSelector").contains(field)) {
                throw new KustomizeException("patch target field '" + field + "' is outside the supported subset");
            }
        }
        if (target.has("kind") && !target.get("kind").asText().equals(o.path("kind").asText())) return false;
        if (target.has("name") && !target.get("name").asText().equals(o.path("metadata").path("name").asText())) {
            return false;
        }
        if (target.has("labelSelector")) {
            for (String term : target.get("labelSelector").asText().split(",")) {
                String[] kv = term.trim().split("=", 2);
                if (kv.length != 2) throw new KustomizeException("labelSelector supports only k=v terms: " + term);
                if (!kv[1].equals(o.path("metadata").path("labels").path(kv[0]).asText(null))) return false;
            }
        }
        return true;
    }

    private static void addLabels(JsonNode spec, List<ObjectNode> objects) {
        if (spec.path("includeSelectors").asBoolean(false)) {
            throw new KustomizeException("labels.includeSelectors is outside the supported subset");
        }
        boolean templates = spec.path("includeTemplates").asBoolean(false);
        for (ObjectNode o : objects) {
            for (Map.Entry<String, JsonNode> pair : spec.path("pairs").properties()) {
                child(metadata(o), "labels").set(pair.getKey(), pair.getValue());
                JsonNode template = o.path("spec").path("template");
                if (templates && template.isObject()) {
                    child(child((ObjectNode) template, "metadata"), "labels").set(pair.getKey(), pair.getValue());
                }
            }
        }
    }

    /** Walks the whole object: container lists appear in every workload kind at different depths. */
    private static void setImage(JsonNode node, JsonNode image) {
        if (node.isObject()) {
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                if ((field.getKey().equals("containers") || field.getKey().equals("initContainers")) && field.getValue().isArray()) {
                    for (JsonNode c : field.getValue()) {
                        if (c.hasNonNull("image")) ((ObjectNode) c).put("image", ImageRef.parse(c.get("image").asText()).with(image));
                    }
                } else {
                    setImage(field.getValue(), image);
                }
            }
        } else if (node.isArray()) {
            node.forEach(n -> setImage(n, image));
        }
    }

    private static void requireUniqueIds(Path dir, List<ObjectNode> objects) {
        Set<String> seen = new HashSet<>();
        for (ObjectNode o : objects) {
            if (!seen.add(id(o))) throw new KustomizeException(dir + ": duplicate resource " + id(o));
        }
    }

    static String id(JsonNode o) {
        return o.path("kind").asText() + "/" + o.path("metadata").path("namespace").asText("") + "/"
                + o.path("metadata").path("name").asText();
    }

    private static Iterable<JsonNode> list(ObjectNode k, String field) {
        JsonNode v = k.get(field);
        if (v == null || v.isNull()) return List.of();
        if (!v.isArray()) throw new KustomizeException("'" + field + "' must be a list");
        return (ArrayNode) v;
    }

    private static ObjectNode metadata(ObjectNode o) {
        return child(o, "metadata");
    }

    private static ObjectNode child(ObjectNode parent, String field) {
        JsonNode existing = parent.get(field);
        return existing != null && existing.isObject() ? (ObjectNode) existing : parent.putObject(field);
    }

    /** A container image reference split as kustomize's image transformer sees it. */
    record ImageRef(String name, String tag, String digest) {
        static ImageRef parse(String ref) {
            String digest = null;
            int at = ref.indexOf('@');
            if (at >= 0) {
                digest = ref.substring(at + 1);
                ref = ref.substring(0, at);
            }
            // A colon after the last slash is a tag; one before it belongs to a registry host:port.
            int colon = ref.lastIndexOf(':');
            if (colon > ref.lastIndexOf('/')) return new ImageRef(ref.substring(0, colon), ref.substring(colon + 1), digest);
            return new ImageRef(ref, null, digest);
        }

        String with(JsonNode image) {
            if (!name.equals(image.path("name").asText())) return toString();
            String n = image.path("newName").asText(name);
            String t = image.has("newTag") ? image.get("newTag").asText() : tag;
            String d = image.has("digest") ? image.get("digest").asText() : digest;
            return new ImageRef(n, d != null ? null : t, d).toString();
        }

        @Override
        public String toString() {
            return name + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
        }
    }
}
