package dev.sdmesh.k8scheck;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A service's {@code application.properties}, read as Quarkus reads it in the prod profile: what a manifest may set
 * through the environment and which port the service listens on.
 */
public final class ServiceProperties {
    private static final Pattern REFERENCE = Pattern.compile("\\$\\{([^:}]+)(?::([^}]*))?}");

    private final Properties properties = new Properties();

    private ServiceProperties(Path file) {
        try (Reader reader = Files.newBufferedReader(file)) {
            properties.load(reader);
        } catch (IOException e) {
            throw new UncheckedIOException(file.toString(), e);
        }
    }

    public static ServiceProperties load(Path file) {
        return new ServiceProperties(file);
    }

    /** The value with {@code ${name:default}} references expanded, or null; profile keys ({@code %test.}) are not consulted. */
    public String resolve(String key) {
        String value = properties.getProperty(key);
        if (value == null) return null;
        Matcher m = REFERENCE.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String referenced = resolve(m.group(1));
            String replacement = referenced != null ? referenced : m.group(2) != null ? m.group(2) : "";
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** The HTTP port, which gRPC, health and metrics share ({@code quarkus.grpc.server.use-separate-server=false}). */
    public int port() {
        if (!"false".equals(resolve("quarkus.grpc.server.use-separate-server"))) {
            throw new IllegalStateException("gRPC does not share the HTTP port");
        }
        return Integer.parseInt(resolve("quarkus.http.port"));
    }

    /**
     * The environment variables that change this service's configuration: the environment form of each prod key
     * ({@code sdmesh.unet.max-batch} is {@code SDMESH_UNET_MAX_BATCH}, Quarkus' mapping) and of each name a value
     * refers to ({@code ${sdmesh.bind-host:...}} is {@code SDMESH_BIND_HOST}, {@code ${SDMESH_KAFKA_BOOTSTRAP:...}}
     * itself).
     */
    public Set<String> environmentNames() {
        Set<String> names = new TreeSet<>();
        for (String key : properties.stringPropertyNames()) {
            if (key.startsWith("%")) continue;
            names.add(environmentName(key));
            Matcher m = REFERENCE.matcher(properties.getProperty(key));
            while (m.find()) names.add(environmentName(m.group(1)));
        }
        return names;
    }

    static String environmentName(String key) {
        return key.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }
}
