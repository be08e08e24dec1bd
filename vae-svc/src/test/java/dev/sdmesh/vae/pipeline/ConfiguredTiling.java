package dev.sdmesh.vae.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The tiling application.properties configures, for tests that need what the service runs without starting it. */
public final class ConfiguredTiling {
    private ConfiguredTiling() {
    }

    public static Tiling read() {
        Properties properties = new Properties();
        try (InputStream in = ConfiguredTiling.class.getResourceAsStream("/application.properties")) {
            properties.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Tiling(Integer.parseInt(properties.getProperty("sdmesh.vae.tile-threshold")),
                Integer.parseInt(properties.getProperty("sdmesh.vae.tile-size")),
                Integer.parseInt(properties.getProperty("sdmesh.vae.tile-overlap")));
    }
}
