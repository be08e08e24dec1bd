package dev.sdmesh.k8scheck;

import java.util.Optional;

/**
 * The image reference that Quarkus' container-image support ({@code quarkus-container-image-jib}) builds for a
 * service: {@code [registry/][group/]name:tag}, from {@code quarkus.container-image.*} set in the module's pom
 * {@code <properties>} (the Quarkus Maven plugin passes them to the build) or its application.properties.
 */
public final class ContainerImage {
    private static final String PREFIX = "quarkus.container-image.";

    private ContainerImage() {
    }

    public static String reference(MavenModule module, ServiceProperties properties) {
        Optional<String> image = setting("image", module, properties);
        if (image.isPresent()) return image.get();
        // Quarkus' default group is the builder's user name: the manifests could never name that image.
        String group = setting("group", module, properties).orElseThrow(() -> new IllegalStateException(
                module.artifactId() + ": " + PREFIX + "group is unset, so the image would be named after whoever builds it"));
        String name = setting("name", module, properties)
                .or(() -> Optional.ofNullable(properties.resolve("quarkus.application.name")))
                .orElse(module.artifactId());
        String tag = setting("tag", module, properties)
                .or(() -> Optional.ofNullable(properties.resolve("quarkus.application.version")))
                .orElse(module.version());
        String repository = group.isEmpty() ? name : group + "/" + name;
        return setting("registry", module, properties).map(r -> r + "/").orElse("") + repository + ":" + tag;
    }

    /** One {@code quarkus.container-image.<key>}; set in both places it must agree, since either could win. */
    private static Optional<String> setting(String key, MavenModule module, ServiceProperties properties) {
        Optional<String> inPom = module.property(PREFIX + key);
        Optional<String> inProperties = Optional.ofNullable(properties.resolve(PREFIX + key));
        if (inPom.isPresent() && inProperties.isPresent() && !inPom.equals(inProperties)) {
            throw new IllegalStateException(module.artifactId() + ": " + PREFIX + key + " is " + inPom.get()
                    + " in pom.xml but " + inProperties.get() + " in application.properties");
        }
        return inPom.or(() -> inProperties);
    }
}
