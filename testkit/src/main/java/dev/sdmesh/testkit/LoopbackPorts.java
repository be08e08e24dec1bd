package dev.sdmesh.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Free TCP ports on the loopback interface, for servers that must know their port before they bind. */
final class LoopbackPorts {

    private LoopbackPorts() {
    }

    /**
     * A port that was free a moment ago. The window between closing the probe socket and the server
     * binding is tiny on a test machine; the Kafka controller needs its port in its own configuration,
     * so it cannot bind port 0 and report back.
     */
    static int free() {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            probe.setReuseAddress(true);
            return probe.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port", e);
        }
    }
}
