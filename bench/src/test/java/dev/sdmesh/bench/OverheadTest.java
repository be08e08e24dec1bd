package dev.sdmesh.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class OverheadTest {
    static Summary constant(double ms) {
        return Summary.of(new double[]{ms, ms, ms, ms, ms});
    }

    static Floor floor(String model, int size, double text, double unet1, double unet2, double vae) {
        return new Floor(model, size, size, "cpu", constant(text), constant(unet1), constant(unet2), constant(vae));
    }

    @Test
    void floorOfARequestIsTextEncoderPlusStepsUnetCallsPlusDecode() {
        Floor f = floor("sd15", 512, 100, 3000, 5000, 8000);
        assertEquals(100 + 20 * 5000 + 8000, f.requestMs(20, true), 1e-9);
        assertEquals(100 + 20 * 3000 + 8000, f.requestMs(20, false), 1e-9);
    }

    @Test
    void floorUsesMediansNotMeans() {
        Floor f = new Floor("tiny", 64, 64, "cpu", Summary.of(new double[]{1, 2, 100}), constant(1), constant(2),
                Summary.of(new double[]{3, 4, 500}));
        assertEquals(2 + 10 * 2 + 4, f.requestMs(10, true), 1e-9);
    }

    @Test
    void overheadIsMeshOverFloorAndTheDifference() {
        Floor f = floor("sd15", 512, 100, 3000, 5000, 8000);
        RequestSpec request = new RequestSpec("sd15", 512, 512, 2, 7.5);
        Overhead o = Overhead.of(f, request, Summary.of(new double[]{18_600, 18_700, 30_000}));
        assertEquals(18_100, o.floorMs(), 1e-9);
        assertEquals(18_700, o.meshMs(), 1e-9);
        assertEquals(18_700.0 / 18_100.0, o.ratio(), 1e-12);
        assertEquals(600, o.addedMs(), 1e-9);
    }

    @Test
    void bytesMovedCountEachTensorTwiceThroughTheOrchestrator() {
        ModelGeometry sd15 = new ModelGeometry(77, 768, 4, 4, 8, 49407);
        Transfers guided = Transfers.of(sd15, new RequestSpec("sd15", 512, 512, 20, 7.5), 400_000);
        assertEquals(2L * 77 * 768 * 4, guided.embeddingsBytes());
        assertEquals(4L * 64 * 64 * 4, guided.latentsBytes());
        assertEquals(2 * (2L * 77 * 768 * 4 + 4L * 64 * 64 * 4 + 400_000), guided.perRequestBytes());

        Transfers unguided = Transfers.of(sd15, new RequestSpec("sd15", 512, 768, 20, 1.0), 0);
        assertEquals(77L * 768 * 4, unguided.embeddingsBytes());
        assertEquals(4L * 96 * 64 * 4, unguided.latentsBytes());
    }
}
