package dev.sdmesh.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SummaryTest {

    @Test
    void medianOfOddCountIsTheMiddleValueWhateverTheOrder() {
        Summary s = Summary.of(new double[]{9, 1, 5, 3, 7});
        assertEquals(5, s.median());
        assertEquals(1, s.min());
        assertEquals(9, s.max());
        assertEquals(5, s.mean(), 1e-12);
        assertEquals(5, s.count());
    }

    @Test
    void medianOfEvenCountIsTheMeanOfTheMiddleTwo() {
        assertEquals(2.5, Summary.of(List.of(4.0, 1.0, 3.0, 2.0)).median(), 1e-12);
    }

    @Test
    void percentilesInterpolateBetweenClosestRanksLikeNumpy() {
        double[] sorted = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
        // numpy.percentile(range(10, 101, 10), 95) == 95.5; (…, 90) == 91.0; (…, 0) == 10
        assertEquals(95.5, Summary.percentile(sorted, 95), 1e-9);
        assertEquals(91.0, Summary.percentile(sorted, 90), 1e-9);
        assertEquals(10, Summary.percentile(sorted, 0));
        assertEquals(100, Summary.percentile(sorted, 100));
        assertEquals(95.5, Summary.of(sorted).p95(), 1e-9);
    }

    @Test
    void oneValueIsEveryPercentile() {
        Summary s = Summary.of(new double[]{42});
        assertEquals(42, s.p50());
        assertEquals(42, s.p95());
    }

    @Test
    void rejectsEmptyInputAndPercentilesOutsideTheRange() {
        assertThrows(IllegalArgumentException.class, () -> Summary.of(new double[0]));
        assertThrows(IllegalArgumentException.class, () -> Summary.percentile(new double[]{1}, 101));
    }

    @Test
    void doesNotReorderTheCallersArray() {
        double[] values = {3, 1, 2};
        Summary.of(values);
        assertEquals(3, values[0]);
    }
}
