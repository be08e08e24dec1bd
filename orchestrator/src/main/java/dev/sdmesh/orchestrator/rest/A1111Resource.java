package dev.sdmesh.orchestrator.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.orchestrator.OrchestratorConfig;
import dev.sdmesh.orchestrator.api.A1111Mapping;
import dev.sdmesh.orchestrator.api.GenerationEvent;
import dev.sdmesh.orchestrator.api.GenerationStatus;
import dev.sdmesh.orchestrator.api.Problem;
import dev.sdmesh.orchestrator.pipeline.Cancellation;
import dev.sdmesh.orchestrator.pipeline.GenerationIntake;
import dev.sdmesh.orchestrator.pipeline.ModelCatalog;
import dev.sdmesh.orchestrator.pipeline.ResolvedRequest;
import dev.sdmesh.orchestrator.pipeline.StageContext;
import dev.sdmesh.orchestrator.pipeline.StatusStore;
import dev.sdmesh.orchestrator.stage.GrpcStages;
import dev.sdmesh.orchestrator.storage.MinioImageStore;
import dev.sdmesh.orchestrator.tracing.GenerationTracing;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The AUTOMATIC1111 web-UI API subset that clients use to generate: same paths, field names, defaults and response
 * shapes ({@code images} base64 PNGs with infotext, {@code parameters}, {@code info} as a JSON string). A generation
 * goes through the requests topic like any other and the call waits for its terminal event.
 */
@Singleton
@Path("/sdapi/v1")
@Produces(MediaType.APPLICATION_JSON)
public class A1111Resource {
    private static final DateTimeFormatter JOB_TIMESTAMP = DateTimeFormatter.ofPattern("yyyyMMddHHmmss");

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
    OrchestratorConfig config;
    @Inject
    GenerationTracing tracing;

    /** Generations started here and not finished, for /progress and /interrupt (A1111 has one job at a time). */
    private final Set<String> running = ConcurrentHashMap.newKeySet();

    @POST
    @Path("/txt2img")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response txt2img(JsonNode body) {
        return generate(body, false);
    }

    @POST
    @Path("/img2img")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response img2img(JsonNode body) {
        return generate(body, true);
    }

    private Response generate(JsonNode body, boolean img2img) {
        A1111Mapping mapping = new A1111Mapping(json);
        ObjectNode parameters = mapping.parameters(body, img2img);
        String requestId = UUID.randomUUID().toString();
        GenerationIntake.Admitted admitted;
        try {
            admitted = intake.admit(mapping.toRequest(parameters, img2img, requestId));
        } catch (InvalidFieldException e) {
            throw A1111Mapping.inA1111Terms(e);
        }
        String jobTimestamp = LocalDateTime.now().format(JOB_TIMESTAMP);
        running.add(requestId);
        CompletableFuture<GenerationEvent> terminal = statuses.nextTerminal(requestId);
        GenerationEvent end;
        try {
            intake.send(admitted, tracing.currentTraceparent());
            end = terminal.get(config.generation().syncTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            intake.cancel(requestId);
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            intake.cancel(requestId);
            return ProblemMappers.problem(new Problem("timeout", "Generation did not finish", 504, e.toString(), null));
        } finally {
            running.remove(requestId);
            terminal.cancel(false);
        }
        if (GenerationEvent.FAILED.equals(end.type())) {
            GenerationEvent.Error error = end.error();
            boolean client = "invalid_argument".equals(error.code()) || "invalid_request".equals(error.code());
            String field = error.field() == null ? null : A1111Mapping.inA1111Terms(new InvalidFieldException(error.field(), "")).field();
            return ProblemMappers.problem(new Problem(error.code(), "Generation failed", client ? 422 : 500, error.message(), field));
        }
        List<String> images = new ArrayList<>();
        if (GenerationEvent.COMPLETED.equals(end.type())) {
            for (GenerationEvent.ImageRef image : end.images()) images.add(Base64.getEncoder().encodeToString(store.get(image.key())));
        }
        // An interrupted job answers like A1111's: whatever images there are (none here) and its parameters.
        ObjectNode out = json.createObjectNode();
        ArrayNode imageArray = out.putArray("images");
        images.forEach(imageArray::add);
        out.set("parameters", parameters);
        out.put("info", info(admitted.request(), end, parameters, jobTimestamp).toString());
        return Response.ok(out).build();
    }

    /** A1111's {@code info}: the processed parameters as {@code Processed.js()} writes them. */
    private ObjectNode info(ResolvedRequest r, GenerationEvent end, ObjectNode parameters, String jobTimestamp) {
        ObjectNode info = json.createObjectNode();
        int count = end.images() == null ? 0 : end.images().size();
        // The seed drawn where the request ran (the front door's resolution draws its own for an unset seed).
        long seed = end.seeds() == null || end.seeds().isEmpty() ? r.seed() : Long.parseUnsignedLong(end.seeds().get(0));
        info.put("prompt", r.prompt());
        fill(info.putArray("all_prompts"), r.prompt(), count);
        info.put("negative_prompt", r.negativePrompt());
        fill(info.putArray("all_negative_prompts"), r.negativePrompt(), count);
        info.put("seed", seed);
        ArrayNode seeds = info.putArray("all_seeds");
        for (int i = 0; i < count; i++) seeds.add(seed);
        info.put("subseed", -1);
        info.putArray("all_subseeds");
        info.put("subseed_strength", 0);
        info.put("width", r.width());
        info.put("height", r.height());
        info.put("sampler_name", parameters.get("sampler_name").asText());
        info.put("cfg_scale", r.guidanceScale());
        info.put("steps", r.steps());
        info.put("batch_size", r.batchSize());
        info.put("restore_faces", false);
        info.putNull("face_restoration_model");
        info.put("sd_model_name", r.model());
        info.putNull("sd_model_hash");
        info.put("seed_resize_from_w", -1);
        info.put("seed_resize_from_h", -1);
        if (r.strength() != null) info.put("denoising_strength", r.strength());
        else info.putNull("denoising_strength");
        info.putObject("extra_generation_params");
        info.put("index_of_first_image", 0);
        ArrayNode infotexts = info.putArray("infotexts");
        for (int i = 0; i < count; i++) infotexts.add(end.infotext());
        info.putArray("styles");
        info.put("job_timestamp", jobTimestamp);
        info.put("clip_skip", Math.max(1, r.clipSkip()));
        info.put("is_using_inpainting_conditioning", r.request().isInpaint());
        return info;
    }

    private static void fill(ArrayNode array, String value, int count) {
        for (int i = 0; i < count; i++) array.add(value);
    }

    @GET
    @Path("/progress")
    public Map<String, Object> progress() {
        GenerationStatus current = running.stream().map(statuses::get)
                .filter(s -> s != null && GenerationStatus.RUNNING.equals(s.status())).findFirst()
                .orElse(running.stream().map(statuses::get).filter(s -> s != null).findFirst().orElse(null));
        int step = current == null || current.step() == null ? 0 : current.step();
        int total = current == null || current.total() == null ? 0 : current.total();
        Map<String, Object> state = Map.of(
                "skipped", false,
                "interrupted", false,
                "job", current == null ? "" : current.requestId(),
                "job_count", running.size(),
                "job_timestamp", "0",
                "job_no", 0,
                "sampling_step", step,
                "sampling_steps", total);
        double progress = total == 0 ? 0 : (double) step / total;
        return Map.of("progress", progress, "eta_relative", 0.0, "state", state,
                "current_image", "", "textinfo", "");
    }

    @POST
    @Path("/interrupt")
    public Map<String, Object> interrupt() {
        running.forEach(intake::cancel);
        return Map.of();
    }

    @GET
    @Path("/samplers")
    public List<Map<String, Object>> samplers() {
        List<Map<String, Object>> out = new ArrayList<>();
        stages.schedulers(new StageContext(null, new Cancellation())).getSchedulersList().forEach(s -> {
            for (String alias : s.getAliasesList()) out.add(Map.of("name", alias, "aliases", List.of(s.getName()), "options", Map.of()));
        });
        return out;
    }

    @GET
    @Path("/sd-models")
    public List<Map<String, Object>> sdModels() {
        return models.models().stream().map(m -> {
            Map<String, Object> model = new LinkedHashMap<>();
            model.put("title", m.id());
            model.put("model_name", m.id());
            model.put("hash", null);
            model.put("sha256", null);
            model.put("filename", m.id());
            model.put("config", null);
            return model;
        }).toList();
    }

    @GET
    @Path("/options")
    public Map<String, Object> options() {
        List<ModelCatalog.ModelInfo> all = models.models();
        return Map.of("sd_model_checkpoint", all.isEmpty() ? "" : models.resolve(null).id(),
                "CLIP_stop_at_last_layers", 1,
                "samples_format", "png");
    }
}
