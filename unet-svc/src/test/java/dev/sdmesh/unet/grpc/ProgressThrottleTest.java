package dev.sdmesh.unet.grpc;

import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which progress updates are streamed, on a clock the test moves. */
class ProgressThrottleTest {
    private long nanos = 1_000_000_000L;

    private void advanceMillis(long millis) {
        nanos += TimeUnit.MILLISECONDS.toNanos(millis);
    }

    @Test
    void theFirstAndTheLastCallAlwaysStreamAndTheOthersOncePerInterval() {
        ProgressThrottle throttle = new ProgressThrottle(100, () -> nanos);

        assertTrue(throttle.stream(1, 6), "the first call");
        advanceMillis(40);
        assertFalse(throttle.stream(2, 6));
        advanceMillis(59);
        assertFalse(throttle.stream(3, 6), "99 ms after the last one streamed");
        advanceMillis(1);
        assertTrue(throttle.stream(4, 6), "100 ms after the last one streamed");
        advanceMillis(10);
        assertFalse(throttle.stream(5, 6));
        advanceMillis(10);
        assertTrue(throttle.stream(6, 6), "the last call");
    }

    @Test
    void aZeroIntervalStreamsEveryCall() {
        ProgressThrottle throttle = new ProgressThrottle(0, () -> nanos);
        for (int call = 1; call <= 20; call++) assertTrue(throttle.stream(call, 20), "call " + call);
    }
}
