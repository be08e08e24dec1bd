package dev.sdmesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.concurrent.Callable;

/** {@code sdmesh status [--json]}: processes and endpoints. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show the local mesh's processes and endpoints.")
public final class StatusCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Option(names = "--json", description = "Print a JSON object with kafka, s3, rest, grpc, running and services.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        MeshLayout layout = MeshLayout.fromEnvironment();
        var state = MeshState.load(layout.stateFile());
        if (json) {
            System.out.println(JSON.writeValueAsString(toJson(state.orElse(null))));
            return state.isPresent() && state.get().anyAlive() ? 0 : 3;
        }
        if (state.isEmpty()) {
            System.out.println("sdmesh is not running.");
            return 3;
        }
        print(state.get(), System.out);
        return 0;
    }

    static ObjectNode toJson(MeshState state) {
        ObjectNode root = JSON.createObjectNode();
        root.put("running", state != null && state.anyAlive());
        root.put("kafka", state == null ? null : state.kafka);
        root.put("s3", state == null ? null : state.s3);
        root.put("rest", state == null ? null : state.rest);
        root.put("grpc", state == null ? null : state.grpc);
        ArrayNode services = root.putArray("services");
        if (state != null) {
            for (MeshState.Service s : state.services) {
                ObjectNode node = services.addObject();
                node.put("name", s.name());
                node.put("pid", s.pid());
                node.put("port", s.port());
                node.put("alive", s.alive());
                node.put("healthy", s.health() == null ? s.alive() : ProcessLauncher.healthy(s.port()));
                node.put("log", s.log());
            }
        }
        return root;
    }

    static void print(MeshState state, PrintStream out) {
        out.println("  kafka  " + state.kafka);
        out.println("  s3     " + state.s3 + "  (bucket " + MeshLayout.BUCKET + ")");
        out.println("  rest   " + state.rest + "   (A1111 API at " + state.rest + "/sdapi/v1, health at /q/health)");
        out.println("  grpc   " + state.grpc + "   (sdmesh.v1.ImageGeneration)");
        for (MeshState.Service s : state.services) {
            out.printf("  %-18s pid %-8d port %-6d %s%n", s.name(), s.pid(), s.port(), s.alive() ? "running" : "STOPPED");
        }
    }
}
