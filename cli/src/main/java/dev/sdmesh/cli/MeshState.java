package dev.sdmesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** What {@code up} started, saved as {@code <state>/mesh.json} so that {@code status} and {@code down} find it. */
public final class MeshState {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * One child process; {@code command} is kept so that {@code up} can start exactly the same process again when it
     * has died.
     */
    public record Service(String name, long pid, int port, String log, String health, java.util.List<String> command) {
        public boolean alive() {
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }
    }

    public String kafka;
    public String s3;
    public String rest;
    public String grpc;
    public List<Service> services = new ArrayList<>();

    public static Optional<MeshState> load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) return Optional.empty();
        return Optional.of(JSON.readValue(file.toFile(), MeshState.class));
    }

    public void save(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writeValue(tmp.toFile(), this);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    public boolean anyAlive() {
        return services.stream().anyMatch(Service::alive);
    }

    public Service withPid(Service service, long pid) {
        Service updated = new Service(service.name(), pid, service.port(), service.log(), service.health(), service.command());
        services.set(services.indexOf(service), updated);
        return updated;
    }

    public Optional<Service> service(String name) {
        return services.stream().filter(s -> s.name().equals(name)).findFirst();
    }
}
