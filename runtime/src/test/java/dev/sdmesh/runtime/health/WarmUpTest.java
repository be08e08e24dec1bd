package dev.sdmesh.runtime.health;

import org.junit.jupiter.api.Test;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a service's health status sees of its warm-up: the reports given to the status callback, in order. */
class WarmUpTest {
    /** Bounds a wait for the background thread so that a broken WarmUp fails the test instead of hanging it. */
    private static final long HANG_LIMIT_SECONDS = 60;

    /** One call of the status callback, with whether the model load had finished when it came. */
    private record Report(boolean ready, boolean loadFinished) {
    }

    private static Report next(BlockingQueue<Report> reports) throws InterruptedException {
        Report report = reports.poll(HANG_LIMIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(report, "no status report within " + HANG_LIMIT_SECONDS + " s");
        return report;
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(HANG_LIMIT_SECONDS, TimeUnit.SECONDS), "latch not released");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void reportsNotReadyUntilTheModelIsLoadedAndTheWarmUpRunPassed() throws InterruptedException {
        BlockingQueue<Report> reports = new LinkedBlockingQueue<>();
        AtomicBoolean loadFinished = new AtomicBoolean();
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch loading = new CountDownLatch(1);
        CountDownLatch finishLoad = new CountDownLatch(1);
        WarmUp warmUp = new WarmUp("test-svc", () -> {
            runs.incrementAndGet();
            loading.countDown();
            await(finishLoad);
            loadFinished.set(true);
        }, ready -> reports.add(new Report(ready, loadFinished.get())));
        assertEquals(WarmUp.State.NOT_STARTED, warmUp.state());
        assertFalse(warmUp.ready());

        warmUp.ensureStarted();
        assertFalse(next(reports).ready(), "the first report is not-ready");
        await(loading);
        warmUp.ensureStarted(); // a health probe while the load runs must not start a second warm-up
        assertEquals(WarmUp.State.WARMING_UP, warmUp.state());
        assertFalse(warmUp.ready());
        assertTrue(reports.isEmpty(), "reported " + reports + " while the model was still loading");

        finishLoad.countDown();
        Report ready = next(reports);
        assertTrue(ready.ready(), "ready once the warm-up passed");
        assertTrue(ready.loadFinished(), "ready was reported before the model load finished");
        assertTrue(warmUp.ready());
        assertTrue(warmUp.detail().startsWith("ready"), warmUp.detail());

        warmUp.ensureStarted();
        assertEquals(WarmUp.State.READY, warmUp.state(), "a ready service does not warm up again");
        assertTrue(reports.isEmpty(), "reported " + reports + " after being ready");
        assertEquals(1, runs.get());
    }

    @Test
    void aFailedWarmUpStaysNotReadyWithItsReasonAndIsRetriedOnTheNextStart() throws InterruptedException {
        BlockingQueue<Report> reports = new LinkedBlockingQueue<>();
        AtomicBoolean modelPresent = new AtomicBoolean();
        AtomicInteger runs = new AtomicInteger();
        WarmUp warmUp = new WarmUp("test-svc", () -> {
            runs.incrementAndGet();
            if (!modelPresent.get()) throw new IllegalStateException("no models in /models");
        }, ready -> reports.add(new Report(ready, modelPresent.get())));

        warmUp.ensureStarted();
        assertFalse(next(reports).ready(), "not-ready when the warm-up starts");
        assertFalse(next(reports).ready(), "not-ready when the warm-up fails");
        assertEquals(WarmUp.State.FAILED, warmUp.state());
        assertFalse(warmUp.ready());
        assertTrue(warmUp.detail().contains("no models in /models"), warmUp.detail());

        modelPresent.set(true);
        warmUp.ensureStarted();
        assertFalse(next(reports).ready(), "the retry starts not-ready");
        assertTrue(next(reports).ready(), "ready once the retry passed");
        assertTrue(warmUp.ready());
        assertEquals(2, runs.get(), "the failed warm-up was retried exactly once");
        assertTrue(reports.isEmpty(), "unexpected reports " + reports);
    }

    @Test
    void anErrorThrownByTheWarmUpIsAFailureNotAHang() throws InterruptedException {
        BlockingQueue<Report> reports = new LinkedBlockingQueue<>();
        WarmUp warmUp = new WarmUp("test-svc", () -> {
            throw new UnsatisfiedLinkError("libonnxruntime.so: cannot open shared object file");
        }, ready -> reports.add(new Report(ready, false)));

        warmUp.ensureStarted();
        assertFalse(next(reports).ready());
        assertFalse(next(reports).ready());
        assertEquals(WarmUp.State.FAILED, warmUp.state());
        assertTrue(warmUp.detail().contains("libonnxruntime.so"), warmUp.detail());
    }
}
