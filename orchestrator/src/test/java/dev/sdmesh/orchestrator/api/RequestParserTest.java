package dev.sdmesh.orchestrator.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestParserTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final RequestParser parser = new RequestParser(JSON, RequestLimits.DEFAULT);

    private ObjectNode valid() {
        ObjectNode o = JSON.createObjectNode();
        o.put("requestId", "req-1");
        return o;
    }

    private InvalidFieldException rejected(String json) {
        return assertThrows(InvalidFieldException.class, () -> parser.parse(json));
    }

    @Test
    void fullRequestIsReadFieldByField() {
        GenerationRequest r = parser.parse("""
                {"requestId":"a.b:c-1","model":"tiny","prompt":"a cat","negativePrompt":"blurry","promptSyntax":"none",
                 "seed":18446744073709551615,"steps":30,"guidanceScale":5.5,"scheduler":"Euler a",
                 "schedulerOptions":{"use_karras_sigmas":true,"timestep_spacing":"trailing"},"width":640,"height":384,
                 "batchSize":2,"clipSkip":2,"strength":0.5,"initImage":"aGk=","mask":"s3://m.png","previewEvery":5,
                 "returnLatents":true,"priority":3,"metadata":{"user":"u1"}}""");
        assertEquals("a.b:c-1", r.requestId());
        assertEquals("tiny", r.model());
        assertEquals("a cat", r.prompt());
        assertEquals("blurry", r.negativePrompt());
        assertEquals("none", r.promptSyntax());
        assertEquals("18446744073709551615", Long.toUnsignedString(r.seed()));
        assertEquals(30, r.steps());
        assertEquals(5.5, r.guidanceScale());
        assertEquals("Euler a", r.scheduler());
        assertEquals(Map.of("use_karras_sigmas", "true", "timestep_spacing", "\"trailing\""), r.schedulerOptions());
        assertEquals(640, r.width());
        assertEquals(384, r.height());
        assertEquals(2, r.batchSize());
        assertEquals(2, r.clipSkip());
        assertEquals(0.5, r.strength());
        assertTrue(r.isInpaint());
        assertEquals(5, r.previewEvery());
        assertTrue(r.wantsLatents());
        assertEquals(3, r.priority());
        assertEquals(Map.of("user", "u1"), r.metadata());
    }

    @Test
    void unsetFieldsStayUnsetForTheDefaults() {
        GenerationRequest r = parser.parse(valid());
        assertNull(r.seed());
        assertNull(r.steps());
        assertNull(r.width());
        assertNull(r.scheduler());
        assertEquals(Map.of(), r.metadata());
    }

    @Test
    void minusOneSeedMeansRandom() {
        assertNull(parser.parse(valid().put("seed", -1)).seed());
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
            "steps|0|[1, 150]", "steps|151|[1, 150]", "steps|2.5|integer", "steps|\"20\"|integer",
            "guidanceScale|-0.1|[0.0, 50.0]", "guidanceScale|50.5|[0.0, 50.0]", "guidanceScale|\"x\"|number",
            "width|1000001|[8, 1024]", "width|1032|[8, 1024]", "width|0|[8, 1024]", "width|516|multiple of 8",
            "height|2056|[8, 1024]", "height|100|multiple of 8",
            "batchSize|0|[1, 8]", "batchSize|9|[1, 8]",
            "clipSkip|13|[0, 12]", "clipSkip|-1|[0, 12]",
            "previewEvery|151|[0, 150]",
            "seed|-2|-1 for random", "seed|18446744073709551616|-1 for random", "seed|1.5|integer",
            "promptSyntax|\"compel\"|\"a1111\" or \"none\"",
            "returnLatents|\"yes\"|boolean",
            "model|\"../etc\"|model folder name", "model|3|string",
            "scheduler|7|string",
            "priority|2147483648|[-2147483648, 2147483647]",
            "metadata|{\"k\":1}|must be a string", "metadata|[]|object",
            "schedulerOptions|{\"k\":{}}|string, number or boolean", "schedulerOptions|3|object",
            "requestId|\"\"|required", "requestId|\"a/b\"|must match", "requestId|5|string",
            "colour|\"red\"|unknown field"})
    void everyLimitNamesItsField(String field, String value, String limit) throws Exception {
        ObjectNode o = valid();
        o.set(field, JSON.readTree(value));
        InvalidFieldException e = rejected(o.toString());
        String expectedField = field.equals("metadata") && value.startsWith("{") ? "metadata.k"
                : field.equals("schedulerOptions") && value.startsWith("{") ? "schedulerOptions.k" : field;
        assertEquals(expectedField, e.field());
        assertTrue(e.getMessage().contains(limit), e.getMessage());
    }

    @Test
    void strengthIsInHalfOpenUnitIntervalAndNeedsAnInitImage() {
        ObjectNode img2img = valid().put("initImage", "aGk=");
        assertEquals(1.0, parser.parse(img2img.deepCopy().put("strength", 1.0)).strength());
        assertEquals("strength", rejected(img2img.deepCopy().put("strength", 0.0).toString()).field());
        assertEquals("strength", rejected(img2img.deepCopy().put("strength", 1.01).toString()).field());
        assertEquals("strength", rejected(valid().put("strength", 0.5).toString()).field());
        assertEquals("mask", rejected(valid().put("mask", "aGk=").toString()).field());
    }

    @Test
    void promptIsLimitedTo4096Characters() {
        parser.parse(valid().put("prompt", "x".repeat(4096)));
        InvalidFieldException e = rejected(valid().put("prompt", "x".repeat(4097)).toString());
        assertEquals("prompt", e.field());
        assertTrue(e.getMessage().contains("4096"));
        assertEquals("negativePrompt", rejected(valid().put("negativePrompt", "x".repeat(4097)).toString()).field());
    }

    @Test
    void configuredMaxSizeIsHonouredUpToTheHardCap() {
        RequestParser large = new RequestParser(JSON, new RequestLimits(2048));
        assertEquals(2048, large.parse(valid().put("width", 2048)).width());
        assertThrows(IllegalArgumentException.class, () -> new RequestLimits(2056));
    }

    @Test
    void malformedRecordsFailOnTheWholeRecord() {
        assertEquals("", rejected("{not json").field());
        assertEquals("", rejected("[1,2]").field());
        assertEquals("", rejected("").field());
        assertEquals("requestId", rejected("{}").field());
    }

    @Test
    void requestIdIsReadFromBrokenRecordsWhenPossible() {
        assertEquals("r-7", parser.requestIdOf("{\"requestId\":\"r-7\",\"steps\":999}"));
        assertEquals("r-8", parser.requestIdOf("{\"requestId\": \"r-8\", \"prompt\": \"unterminated"));
        assertNull(parser.requestIdOf("garbage"));
        assertNull(parser.requestIdOf("{\"requestId\":\"bad/id\"}"));
    }

    /** The published schema and the parser accept the same fields with the same required set. */
    @Test
    void publishedSchemaListsExactlyTheParsedFields() throws Exception {
        Path schema = Path.of("..", "proto", "src", "main", "jsonschema", "generation-request.schema.json");
        JsonNode s = JSON.readTree(Files.readString(schema));
        Set<String> properties = new HashSet<>();
        s.get("properties").fieldNames().forEachRemaining(properties::add);
        Set<String> accepted = new HashSet<>();
        for (String name : properties) {
            ObjectNode probe = valid();
            if (!name.equals("requestId")) probe.putNull(name);
            parser.parse(probe);
            accepted.add(name);
        }
        assertEquals(properties, accepted);
        assertEquals("requestId", s.get("required").get(0).asText());
        assertEquals(false, s.get("additionalProperties").asBoolean());
        assertEquals(4096, s.at("/properties/prompt/maxLength").asInt());
        assertEquals(150, s.at("/properties/steps/maximum").asInt());
        assertEquals(8, s.at("/properties/batchSize/maximum").asInt());
        assertEquals(RequestLimits.HARD_MAX_SIZE, s.at("/properties/width/maximum").asInt());
    }
}
