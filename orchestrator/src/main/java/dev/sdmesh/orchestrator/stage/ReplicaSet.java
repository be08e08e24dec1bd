package dev.sdmesh.orchestrator.stage;

import io.grpc.Channel;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.jboss.logging.Logger;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The replicas of one stage, one plaintext channel per address, used round robin. A call that fails because the
 * replica or its connection is gone (UNAVAILABLE, or the connection closed by a GOAWAY) moves on to the next replica,
 * each replica tried at most twice (its channel reconnects); any other status, INVALID_ARGUMENT above all, is the
 * answer and is never retried. Stage calls are pure functions of their request, so running one again is safe.
 *
 * <p>An address may be a DNS name with several records ({@code dns:///unet-svc-headless:9102} on Kubernetes): its
 * channel balances round robin over them.
 */
public final class ReplicaSet implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ReplicaSet.class);

    private final String stage;
    private final List<String> addresses;
    private final List<ManagedChannel> channels;
    private final List<Channel> intercepted;
    private final AtomicInteger next = new AtomicInteger();

    public ReplicaSet(String stage, List<String> addresses, int maxInboundBytes, ClientInterceptor... interceptors) {
        if (addresses.isEmpty()) throw new IllegalArgumentException(stage + ": no replica addresses configured");
        this.stage = stage;
        this.addresses = List.copyOf(addresses);
        this.channels = addresses.stream()
                .map(address -> ManagedChannelBuilder.forTarget(address)
                        .usePlaintext()
                        .defaultLoadBalancingPolicy("round_robin")
                        .maxInboundMessageSize(maxInboundBytes)
                        .build())
                .toList();
        this.intercepted = channels.stream().map(c -> ClientInterceptors.intercept(c, interceptors)).toList();
    }

    public String stage() {
        return stage;
    }

    public List<String> addresses() {
        return addresses;
    }

    /** The channel of each replica, in address order (health checks ask each one). */
    public List<Channel> channels() {
        return intercepted;
    }

    /** Runs {@code rpc} on the next replica, falling over to the following ones while they answer UNAVAILABLE. */
    public <T> T call(Function<Channel, T> rpc) {
        int n = intercepted.size();
        int start = Math.floorMod(next.getAndIncrement(), n);
        StatusRuntimeException last = null;
        for (int attempt = 0; attempt < 2 * n; attempt++) {
            int replica = (start + attempt) % n;
            try {
                return rpc.apply(intercepted.get(replica));
            } catch (StatusRuntimeException e) {
                if (!replicaOrConnectionGone(e.getStatus())) throw e;
                LOG.debugf("%s replica %s unavailable: %s", stage, addresses.get(replica), e.getStatus());
                last = e;
            }
        }
        throw Status.UNAVAILABLE
                .withDescription(stage + ": no replica available of " + addresses + " (last: " + last.getStatus().getDescription() + ")")
                .withCause(last).asRuntimeException();
    }

    /** The replica refused the connection, or the connection closed under the call (the call may run again). */
    static boolean replicaOrConnectionGone(Status status) {
        return status.getCode() == Status.Code.UNAVAILABLE
                || (status.getCode() == Status.Code.INTERNAL && status.getDescription() != null
                && status.getDescription().startsWith("Connection closed after GOAWAY"));
    }

    @Override
    public void close() {
        channels.forEach(ManagedChannel::shutdownNow);
        for (ManagedChannel c : channels) {
            try {
                c.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
