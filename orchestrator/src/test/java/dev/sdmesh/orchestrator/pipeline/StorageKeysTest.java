package dev.sdmesh.orchestrator.pipeline;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class StorageKeysTest {
    @Test
    void keysAreDatedInUtcThenRequestIdThenIndex() {
        Instant lateEvening = Instant.parse("2026-01-09T23:59:59Z");
        assertEquals("2026/01/09/req-1/0.png", StorageKeys.image(lateEvening, "req-1", 0));
        assertEquals("2026/01/09/req-1/3.npy", StorageKeys.latents(lateEvening, "req-1", 3));
    }

    @Test
    void s3ReferencesResolveInsideTheBucket() {
        assertEquals("in/a.png", StorageKeys.fromReference("s3://sdmesh-images/in/a.png", "sdmesh-images"));
        assertEquals("in/a.png", StorageKeys.fromReference("s3://in/a.png", "sdmesh-images"));
        assertNull(StorageKeys.fromReference("aGk=", "sdmesh-images"));
    }
}
