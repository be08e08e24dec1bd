package dev.sdmesh.runtime.onnx;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ExecutionProviderTest {
    @Test
    void parsesTheConfiguredForms() {
        assertEquals(ExecutionProvider.CPU, ExecutionProvider.parse("cpu"));
        assertEquals(new ExecutionProvider(ExecutionProvider.Kind.CUDA, 3), ExecutionProvider.parse("cuda:3"));
        assertEquals(ExecutionProvider.Kind.AUTO, ExecutionProvider.parse("auto").kind());
        assertEquals("cuda:3", ExecutionProvider.parse("CUDA:3").toString());
        for (String bad : new String[]{"gpu", "cuda:-1", "cuda:x"}) {
            assertThrows(IllegalArgumentException.class, () -> ExecutionProvider.parse(bad), bad);
        }
    }

    @Test
    void autoFallsBackToCpuWhereCudaIsMissing() {
        var factory = new SessionFactory(SessionSettings.cpuDefaults().withProvider(ExecutionProvider.parse("auto")));
        var model = dev.sdmesh.runtime.testing.ReferenceData.model();
        try (OnnxModel encoder = factory.open(model.resolve("text_encoder/model.onnx"))) {
            // On a GPU machine with CUDA this resolves to cuda:0; everywhere the session must run.
            ExecutionProvider.Kind kind = encoder.provider().kind();
            org.junit.jupiter.api.Assertions.assertTrue(kind == ExecutionProvider.Kind.CPU || kind == ExecutionProvider.Kind.CUDA);
        }
    }
}
