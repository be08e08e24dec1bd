package dev.sdmesh.k8scheck;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The image name Quarkus' container-image support builds for a module, as the overlay checks derive it. */
class ContainerImageTest {
    @TempDir
    Path dir;

    private MavenModule pom(String properties) throws IOException {
        Path file = dir.resolve("pom.xml");
        Files.writeString(file, """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <parent><groupId>g</groupId><artifactId>parent</artifactId><version>2.1.0</version></parent>
                  <artifactId>svc</artifactId>
                  <properties>%s</properties>
                  <dependencies>
                    <dependency><groupId>io.quarkus</groupId><artifactId>quarkus-container-image-jib</artifactId></dependency>
                  </dependencies>
                  <profiles><profile><id>p</id><dependencies>
                    <dependency><groupId>io.quarkus</groupId><artifactId>quarkus-in-a-profile</artifactId></dependency>
                  </dependencies></profile></profiles>
                </project>
                """.formatted(properties));
        return MavenModule.load(file);
    }

    private ServiceProperties properties(String text) throws IOException {
        Path file = dir.resolve("application.properties");
        Files.writeString(file, text);
        return ServiceProperties.load(file);
    }

    @Test
    void theGroupComesFromThePomAndNameAndTagDefaultToArtifactIdAndInheritedVersion() throws IOException {
        MavenModule module = pom("<quarkus.container-image.group>acme</quarkus.container-image.group>");
        assertEquals("acme/svc:2.1.0", ContainerImage.reference(module, properties("")));
        assertTrue(module.dependsOn("io.quarkus:quarkus-container-image-jib"));
        assertFalse(module.dependsOn("io.quarkus:quarkus-in-a-profile"), "a profile's dependency is not always there");
    }

    @Test
    void applicationPropertiesCanNameTagAndRegistryTheImage() throws IOException {
        ServiceProperties props = properties("""
                quarkus.container-image.group=acme
                quarkus.container-image.registry=registry.example:5000
                quarkus.application.name=renamed
                quarkus.container-image.tag=${release:7}
                """);
        assertEquals("registry.example:5000/acme/renamed:7", ContainerImage.reference(pom(""), props));
    }

    @Test
    void aGroupSetDifferentlyInPomAndPropertiesOrNowhereIsRejected() throws IOException {
        MavenModule module = pom("<quarkus.container-image.group>acme</quarkus.container-image.group>");
        IllegalStateException conflict = assertThrows(IllegalStateException.class,
                () -> ContainerImage.reference(module, properties("quarkus.container-image.group=other")));
        assertTrue(conflict.getMessage().contains("quarkus.container-image.group"), conflict.getMessage());
        assertEquals("acme/svc:2.1.0", ContainerImage.reference(module, properties("quarkus.container-image.group=acme")));
        assertThrows(IllegalStateException.class, () -> ContainerImage.reference(pom(""), properties("")));
    }
}
