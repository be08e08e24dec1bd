package dev.sdmesh.k8scheck;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.SAXException;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a service's {@code pom.xml} declares for its build: coordinates, {@code <properties>} and direct dependencies.
 * Only the module's own file is read: no parent resolution beyond the parent's version, no profiles.
 */
public final class MavenModule {
    private final String artifactId;
    private final String version;
    private final Map<String, String> properties = new LinkedHashMap<>();
    private final List<String> dependencies = new ArrayList<>();

    private MavenModule(Element project) {
        artifactId = text(project, "artifactId").orElseThrow(() -> new IllegalArgumentException("pom without artifactId"));
        version = text(project, "version")
                .or(() -> child(project, "parent").flatMap(parent -> text(parent, "version")))
                .orElseThrow(() -> new IllegalArgumentException(artifactId + ": no version of its own or of its parent"));
        child(project, "properties").ifPresent(p -> children(p).forEach(e -> properties.put(e.getTagName(), e.getTextContent().trim())));
        child(project, "dependencies").ifPresent(deps -> children(deps).forEach(
                d -> dependencies.add(text(d, "groupId").orElse("") + ":" + text(d, "artifactId").orElse(""))));
    }

    public static MavenModule load(Path pom) {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            Document document = factory.newDocumentBuilder().parse(pom.toFile());
            return new MavenModule(document.getDocumentElement());
        } catch (IOException e) {
            throw new UncheckedIOException(pom.toString(), e);
        } catch (ParserConfigurationException | SAXException e) {
            throw new IllegalArgumentException(pom + ": " + e.getMessage(), e);
        }
    }

    public String artifactId() {
        return artifactId;
    }

    /** The module's version, inherited from the parent when it declares none. */
    public String version() {
        return version;
    }

    public Optional<String> property(String name) {
        return Optional.ofNullable(properties.get(name));
    }

    /** Whether {@code <dependencies>} (not dependencyManagement, not a profile) names {@code groupId:artifactId}. */
    public boolean dependsOn(String groupAndArtifact) {
        return dependencies.contains(groupAndArtifact);
    }

    private static List<Element> children(Element parent) {
        List<Element> elements = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e) elements.add(e);
        }
        return elements;
    }

    private static Optional<Element> child(Element parent, String name) {
        return children(parent).stream().filter(e -> e.getTagName().equals(name)).findFirst();
    }

    private static Optional<String> text(Element parent, String name) {
        return child(parent, name).map(e -> e.getTextContent().trim());
    }
}
