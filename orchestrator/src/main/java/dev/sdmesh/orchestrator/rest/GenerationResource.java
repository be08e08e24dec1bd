package dev.sdmesh.orchestrator.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationList;
import dev.sdmesh.orchestrator.api.GenerationRequest;
import dev.sdmesh.orchestrator.api.GenerationStatus;
import dev.sdmesh.orchestrator.api.RequestLimits;
import dev.sdmesh.orchestrator.pipeline.GenerationIntake;
import dev.sdmesh.orchestrator.pipeline.ModelCatalog;
import dev.sdmesh.orchestrator.pipeline.StageContext;
import dev.sdmesh.orchestrator.pipeline.StatusStore;
import dev.sdmesh.orchestrator.pipeline.Cancellation;
import dev.sdmesh.orchestrator.stage.GrpcStages;
import dev.sdmesh.orchestrator.storage.MinioImageStore;
import dev.sdmesh.orchestrator.tracing.GenerationTracing;
import dev.sdmesh.proto.v1.PromptSyntax;
import dev.sdmesh.proto.v1.TokenChunk;
import dev.sdmesh.proto.v1.TokenizeRequest;
import dev.sdmesh.proto.v1.TokenizeResponse;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import io.smallrye.mutiny.Multi;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;
import org.jboss.resteasy.reactive.RestStreamElementType;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/**
 * The mesh's REST API ({@code /v1}). A generation is validated here, then published to the requests topic and run by
 * whichever replica consumes it, like a Kafka request; status and events come from the events topic.
 */
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
public class GenerationResource {
    @Inject
    GenerationIntake intake;
    @Inject
    StatusStore statuses;
    @Inject
    MinioImageStore store;
    @Inject
    GrpcStages stages;
    @Inject
    ModelCatalog models;
    @Inject
    ObjectMapper json;
    @Inject
    GenerationTracing tracing;

    /** Same body as the Kafka request; a missing requestId is assigned. 202 with the id and where to follow it. */
    @POST
    @Path("/generations")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        if (body instanceof ObjectNode object && !object.hasNonNull("requestId")) object.put("requestId", UUID.randomUUID().toString());
        GenerationIntake.Admitted request = intake.admit(body == null ? json.createObjectNode() : body);
        intake.send(request, tracing.currentTraceparent());
        return Response.accepted(statuses.get(request.requestId()))
                .location(UriBuilder.fromPath("/v1/generations/{id}").build(request.requestId()))
                .build();
    }

    /** The most recent generations, newest first; {@code limit} defaults to 20 and is at most 100. */
    @GET
    @Path("/generations")
    public GenerationList recent(@QueryParam("limit") String limit) {
        return new GenerationList(statuses.recent(GenerationList.limit(limit)));
    }

    @GET
    @Path("/generations/{id}")
    public GenerationStatus get(@PathParam("id") String id) {
        return known(id);
    }

    @DELETE
    @Path("/generations/{id}")
    public Response cancel(@PathParam("id") String id) {
        known(id);
        return Response.accepted(intake.cancel(id)).build();
    }

    /** The listing links here through {@link dev.sdmesh.orchestrator.api.GenerationSummary#imagePath}: change both together. */
    @GET
    @Path("/generations/{id}/images/{n}")
    @Produces("image/png")
    public byte[] image(@PathParam("id") String id, @PathParam("n") int n) {
        return object(id, n, GenerationEvent.ImageRef::key, "image");
    }

    @GET
    @Path("/generations/{id}/latents/{n}")
    @Produces(MediaType.APPLICATION_OCTET_STREAM)
    public Response latents(@PathParam("id") String id, @PathParam("n") int n) {
        byte[] npy = object(id, n, GenerationEvent.ImageRef::latentsKey, "latents (was returnLatents set?)");
        return Response.ok(npy).header("Content-Disposition", "attachment; filename=\"" + n + ".npy\"").build();
    }

    /** The generation's events as they happen; the stream ends with the terminal event. */
    @GET
    @Path("/generations/{id}/events")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @RestStreamElementType(MediaType.APPLICATION_JSON)
    public Multi<GenerationEvent> events(@PathParam("id") String id) {
        known(id);
        return EventStreams.follow(statuses, id);
    }

    /** {@code {model, prompt, promptSyntax}} → {@code {tokens, ids, chunks, weights}}. */
    @POST
    @Path("/tokenize")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> tokenize(JsonNode body) {
        String prompt = body.path("prompt").asText("");
        if (prompt.length() > RequestLimits.MAX_PROMPT_CHARS) {
            throw new InvalidFieldException("prompt", "must be at most " + RequestLimits.MAX_PROMPT_CHARS + " characters");
        }
        String syntax = body.path("promptSyntax").asText(GenerationRequest.SYNTAX_A1111);
        if (!syntax.equals(GenerationRequest.SYNTAX_A1111) && !syntax.equals(GenerationRequest.SYNTAX_NONE)) {
            throw new InvalidFieldException("promptSyntax", "must be \"a1111\" or \"none\"");
        }
        TokenizeResponse r = stages.tokenize(TokenizeRequest.newBuilder()
                .setRequestId(UUID.randomUUID().toString())
                .setModel(models.resolve(body.path("model").asText(null)).id())
                .setPrompt(prompt)
                .setPromptSyntax(syntax.equals(GenerationRequest.SYNTAX_NONE) ? PromptSyntax.NONE : PromptSyntax.A1111)
                .build(), new StageContext(null, new Cancellation()));
        return Map.of("tokens", r.getTokensList(), "ids", r.getIdsList(),
                "chunks", r.getChunksList().stream().map(TokenChunk::getIdsList).toList(),
                "weights", r.getChunksList().stream().map(TokenChunk::getWeightsList).toList());
    }

    @GET
    @Path("/models")
    public Map<String, Object> models() {
        List<ModelCatalog.ModelInfo> all = models.models();
        return Map.of("models", all, "default", all.isEmpty() ? "" : models.resolve(null).id());
    }

    @GET
    @Path("/schedulers")
    public Map<String, Object> schedulers() {
        var list = stages.schedulers(new StageContext(null, new Cancellation())).getSchedulersList().stream()
                .map(s -> Map.of("name", s.getName(), "aliases", s.getAliasesList())).toList();
        return Map.of("schedulers", list);
    }

    private GenerationStatus known(String id) {
        GenerationStatus status = statuses.get(id);
        if (status == null) throw new NotFoundException("no generation " + id);
        return status;
    }

    private byte[] object(String id, int n, Function<GenerationEvent.ImageRef, String> key, String what) {
        GenerationStatus status = known(id);
        if (status.images() == null || n < 0 || n >= status.images().size()) {
            throw new NotFoundException("generation " + id + " has no image " + n + " (status " + status.status() + ")");
        }
        String k = key.apply(status.images().get(n));
        byte[] bytes = k == null ? null : store.get(k);
        if (bytes == null) throw new NotFoundException("generation " + id + " has no " + what + " " + n);
        return bytes;
    }
}
