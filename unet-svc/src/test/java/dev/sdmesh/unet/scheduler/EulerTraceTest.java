package dev.sdmesh.unet.scheduler;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;

/** {@link EulerDiscreteScheduler} against diffusers 0.25.1's public scheduler traces. */
class EulerTraceTest {

    static List<String> eulerTraces() {
        List<String> ids = SchedulerTraceReplay.traceIds("euler");
        assertFalse(ids.isEmpty(), "no public euler trace");
        return ids;
    }

    @ParameterizedTest
    @MethodSource("eulerTraces")
    void replaysTheSchedulerTrace(String traceId) {
        EulerDiscreteScheduler scheduler = new EulerDiscreteScheduler(SchedulerTraceReplay.config(traceId));
        SchedulerTraceReplay.replay(scheduler, traceId);
        SchedulerTraceReplay.assertClose(SigmaReference.file(SchedulerTraceReplay.trace(traceId), "sigmas"),
                scheduler.sigmas(), traceId + ": sigmas");
    }
}
