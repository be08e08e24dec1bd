package dev.sdmesh.bench;

import org.junit.jupiter.api.Test;

import java.util.Optional;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProcfsTest {

    @Test
    void vmHwmIsReadInKibibytes() {
        String status = "Name:\tjava\nVmPeak:\t 9000000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t  100000 kB\n";
        assertEquals(OptionalLong.of(123456L * 1024), ProcMemory.vmHwmBytes(status));
        assertTrue(ProcMemory.vmHwmBytes("Name:\tkthreadd\n").isEmpty());
    }

    @Test
    void ownProcessHasAPeakAtLeastItsHeapInUse() {
        OptionalLong peak = ProcMemory.peakRssBytes(ProcessHandle.current().pid());
        Runtime rt = Runtime.getRuntime();
        peak.ifPresent(bytes -> assertTrue(bytes > 0 && bytes >= (rt.totalMemory() - rt.freeMemory()) / 2));
        assertTrue(ProcMemory.peakRssBytes(Long.MAX_VALUE).isEmpty());
    }

    @Test
    void procfsFieldsAreFoundByExactName() {
        String cpuinfo = "processor\t: 0\nmodel name\t: Example CPU @ 2.0GHz\nmodel\t\t: 85\n";
        assertEquals(Optional.of("Example CPU @ 2.0GHz"), MachineInfo.field(cpuinfo, "model name"));
        assertEquals(Optional.of("85"), MachineInfo.field(cpuinfo, "model"));
        assertEquals(Optional.empty(), MachineInfo.field(cpuinfo, "flags"));
    }
}
