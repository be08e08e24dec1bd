package dev.sdmesh.models;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Python's json.dumps(indent=2, sort_keys=True) formatting, which the reference configs are checked against too. */
class PythonJsonTest {

    @Test
    void floatsUsePythonRepr() {
        assertEquals("1.0", PythonJson.floatRepr(1.0));
        assertEquals("0.00085", PythonJson.floatRepr(0.00085));
        assertEquals("1e-05", PythonJson.floatRepr(1e-5));
        assertEquals("1.5e-07", PythonJson.floatRepr(1.5e-7));
        assertEquals("-0.0001", PythonJson.floatRepr(-1e-4));
        assertEquals("1e+16", PythonJson.floatRepr(1e16));
    }

    @Test
    void sortsKeysIndentsAndEscapesLikePython() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("b", List.of());
        m.put("a", List.of(1, "\u0120x"));
        m.put("c", null);
        assertEquals("{\n  \"a\": [\n    1,\n    \"\\u0120x\"\n  ],\n  \"b\": [],\n  \"c\": null\n}\n",
                PythonJson.dumps(m, true));
        assertEquals("{\n  \"\u0120\": 3\n}\n", PythonJson.dumps(Map.of("\u0120", 3), false));
    }
}
