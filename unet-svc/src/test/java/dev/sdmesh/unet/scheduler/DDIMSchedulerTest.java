package dev.sdmesh.unet.scheduler;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;

/** DDIM against every public DDIM scheduler trace. */
class DDIMSchedulerTest {

    @TestFactory
    List<DynamicTest> replaysPublicTraces() {
        List<String> ids = SchedulerTraceReplay.traceIds("ddim");
        assertFalse(ids.isEmpty(), "no ddim traces in scheduler_traces.json");
        return ids.stream().map(id -> DynamicTest.dynamicTest(id, () ->
                SchedulerTraceReplay.replay(new DDIMScheduler(SchedulerTraceReplay.config(id)), id))).toList();
    }
}
