package dev.sdmesh.bench;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * How much the mesh adds to the same work done in-process: {@code ratio} = mesh end to end ÷ floor, {@code addedMs} =
 * mesh − floor (both medians).
 */
public record Overhead(double floorMs, double meshMs) {

    public static Overhead of(Floor floor, RequestSpec request, Summary meshEndToEnd) {
        return new Overhead(floor.requestMs(request.steps(), request.guidance()), meshEndToEnd.median());
    }

    @JsonProperty
    public double ratio() {
        return meshMs / floorMs;
    }

    @JsonProperty
    public double addedMs() {
        return meshMs - floorMs;
    }
}
