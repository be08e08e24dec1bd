package dev.sdmesh.orchestrator.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * An RFC 9457 problem body ({@code application/problem+json}); {@code field} names the request field at fault.
 *
 * @param type a stable error code (e.g. {@code invalid_argument})
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Problem(String type, String title, int status, String detail, String field) {
}
