package dev.sdmesh.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Where an embedded server keeps its data: the caller's directory, which outlives the server so a restart
 * finds its data again, or a temporary one that is deleted when the server closes.
 */
final class DataDirectory {

    private final Path path;
    private final boolean temporary;

    private DataDirectory(Path path, boolean temporary) {
        this.path = path;
        this.temporary = temporary;
    }

    static DataDirectory of(Path dirOrNull, String tempPrefix) {
        try {
            if (dirOrNull == null) {
                return new DataDirectory(Files.createTempDirectory(tempPrefix), true);
            }
            return new DataDirectory(Files.createDirectories(dirOrNull).toAbsolutePath(), false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create data directory", e);
        }
    }

    Path path() {
        return path;
    }

    /** Deletes a temporary directory; a caller's directory is kept. */
    void release() {
        if (!temporary) {
            return;
        }
        try (Stream<Path> files = Files.walk(path)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + path, e);
        }
    }
}
