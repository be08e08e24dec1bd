package dev.sdmesh.orchestrator.rest;

import dev.sdmesh.orchestrator.api.Problem;
import dev.sdmesh.runtime.grpc.GrpcErrors;
import dev.sdmesh.runtime.grpc.InvalidFieldException;
import io.grpc.StatusRuntimeException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.util.concurrent.RejectedExecutionException;

/** Every REST error as an {@code application/problem+json} body; invalid fields are 400 with the field named. */
public class ProblemMappers {
    public static final String PROBLEM_JSON = "application/problem+json";

    @ServerExceptionMapper
    public Response invalid(InvalidFieldException e) {
        return problem(new Problem("invalid_argument", "Invalid request field", 400, e.getMessage(), e.field().isEmpty() ? null : e.field()));
    }

    @ServerExceptionMapper
    public Response overloaded(RejectedExecutionException e) {
        return problem(new Problem("overloaded", "Too many queued generations", 429, e.getMessage(), null));
    }

    @ServerExceptionMapper
    public Response stage(StatusRuntimeException e) {
        int status = switch (e.getStatus().getCode()) {
            case INVALID_ARGUMENT, OUT_OF_RANGE, FAILED_PRECONDITION -> 400;
            case NOT_FOUND -> 404;
            case DEADLINE_EXCEEDED -> 504;
            case UNAVAILABLE -> 503;
            default -> 502;
        };
        return problem(new Problem(e.getStatus().getCode().name().toLowerCase(), "Stage error", status,
                e.getStatus().getDescription(), GrpcErrors.violatedField(e)));
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e) {
        int status = e.getResponse().getStatus();
        return problem(new Problem(status == 404 ? "not_found" : "http_" + status,
                Response.Status.fromStatusCode(status) == null ? "HTTP " + status : Response.Status.fromStatusCode(status).getReasonPhrase(),
                status, e.getMessage(), null));
    }

    public static Response problem(Problem problem) {
        return Response.status(problem.status()).type(PROBLEM_JSON).entity(problem).build();
    }
}
