package dev.sdmesh.k8scheck;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The gauges a service registers with Micrometer, read from its Java sources ({@code Gauge.builder("a.b", ...)} or
 * {@code registry.gauge("a.b", ...)} with a literal name), under the name Prometheus scrapes.
 */
public final class MeterNames {
    private static final Pattern GAUGE = Pattern.compile("(?:\\bGauge\\.builder|\\.gauge)\\(\\s*\"([^\"]+)\"");

    private MeterNames() {
    }

    public static Set<String> prometheusGauges(Path sourceRoot) {
        Set<String> names = new TreeSet<>();
        try (Stream<Path> files = Files.walk(sourceRoot)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Matcher m = GAUGE.matcher(Files.readString(file));
                while (m.find()) names.add(prometheusName(m.group(1)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(sourceRoot.toString(), e);
        }
        return names;
    }

    /** Micrometer's Prometheus naming for a gauge: every character outside [A-Za-z0-9_:] becomes '_', no unit suffix. */
    static String prometheusName(String micrometerName) {
        return micrometerName.replaceAll("[^A-Za-z0-9_:]", "_");
    }
}
