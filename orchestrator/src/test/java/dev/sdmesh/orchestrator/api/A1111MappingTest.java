package dev.sdmesh.orchestrator.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class A1111MappingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final A1111Mapping mapping = new A1111Mapping(JSON);
    private final RequestParser parser = new RequestParser(JSON, RequestLimits.DEFAULT);

    private GenerationRequest map(String body, boolean img2img) throws Exception {
        ObjectNode parameters = mapping.parameters(JSON.readTree(body), img2img);
        return parser.parse(mapping.toRequest(parameters, img2img, "job-1"));
    }

    @Test
    void emptyTxt2imgBodyTakesA1111ApiDefaults() throws Exception {
        ObjectNode p = mapping.parameters(JSON.readTree("{}"), false);
        assertEquals(50, p.get("steps").asInt());
        assertEquals(7.0, p.get("cfg_scale").asDouble());
        assertEquals(512, p.get("width").asInt());
        assertEquals(512, p.get("height").asInt());
        assertEquals(-1, p.get("seed").asInt());
        assertEquals("Euler", p.get("sampler_name").asText());
        assertEquals(1, p.get("batch_size").asInt());
        assertEquals(1, p.get("n_iter").asInt());
        assertEquals("", p.get("negative_prompt").asText());
        GenerationRequest r = map("{}", false);
        assertEquals(50, r.steps());
        assertEquals(7.0, r.guidanceScale());
        assertEquals("Euler", r.scheduler());
        assertNull(r.seed());
        assertNull(r.strength());
    }

    @Test
    void a1111FieldsMapToTheGenerationRequest() throws Exception {
        GenerationRequest r = map("""
                {"prompt":"a (red:1.2) fox","negative_prompt":"ugly","seed":42,"sampler_name":"DPM++ 2M Karras",
                 "steps":25,"cfg_scale":6.5,"width":768,"height":512,"batch_size":2,"n_iter":3,
                 "override_settings":{"CLIP_stop_at_last_layers":2,"sd_model_checkpoint":"tiny.safetensors [abc123]"},
                 "restore_faces":false,"enable_hr":false,"save_images":false}""", false);
        assertEquals("job-1", r.requestId());
        assertEquals("a (red:1.2) fox", r.prompt());
        assertEquals("ugly", r.negativePrompt());
        assertEquals(42L, r.seed());
        assertEquals("DPM++ 2M Karras", r.scheduler());
        assertEquals(25, r.steps());
        assertEquals(6.5, r.guidanceScale());
        assertEquals(768, r.width());
        assertEquals(512, r.height());
        assertEquals(6, r.batchSize());
        assertEquals(2, r.clipSkip());
        assertEquals("tiny", r.model());
    }

    @Test
    void samplerIndexIsTheOlderNameOfSamplerName() throws Exception {
        assertEquals("DDIM", map("{\"sampler_index\":\"DDIM\"}", false).scheduler());
        assertEquals("LMS", map("{\"sampler_index\":\"DDIM\",\"sampler_name\":\"LMS\"}", false).scheduler());
    }

    @Test
    void img2imgTakesTheFirstInitImageAndDefaultStrength() throws Exception {
        GenerationRequest r = map("{\"init_images\":[\"aGk=\",\"b3RoZXI=\"],\"mask\":\"bWFzaw==\"}", true);
        assertEquals("aGk=", r.initImage());
        assertEquals("bWFzaw==", r.mask());
        assertEquals(0.75, r.strength());
        assertEquals(0.3, map("{\"init_images\":[\"aGk=\"],\"denoising_strength\":0.3}", true).strength());
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> map("{}", true));
        assertEquals("init_images", e.field());
    }

    @Test
    void errorsNameTheA1111Field() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> map("{\"cfg_scale\":99}", false));
        assertEquals("cfg_scale", A1111Mapping.inA1111Terms(e).field());
        e = assertThrows(InvalidFieldException.class, () -> map("{\"batch_size\":4,\"n_iter\":3}", false));
        assertEquals("batch_size", A1111Mapping.inA1111Terms(e).field());
        e = assertThrows(InvalidFieldException.class, () -> map("{\"width\":500}", false));
        assertEquals("width", A1111Mapping.inA1111Terms(e).field());
    }
}
