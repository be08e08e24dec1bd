package dev.sdmesh.testkit;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * The command line shared by the embedded servers when a parent process runs them as child JVMs:
 * {@code --port N --dir DIR}, both optional, then {@code READY <address>} on stdout once the server
 * accepts connections, so the parent can wait for that line instead of polling the port.
 */
final class ChildProcessMain {

    record Options(Path dir, int port) {

        static Options parse(String[] args) {
            Path dir = null;
            int port = 0;
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value for " + flag);
                }
                String value = args[++i];
                switch (flag) {
                    case "--port" -> port = Integer.parseInt(value);
                    case "--dir" -> dir = Path.of(value);
                    default -> throw new IllegalArgumentException("unknown option " + flag + " (expected --port N --dir DIR)");
                }
            }
            return new Options(dir, port);
        }
    }

    private ChildProcessMain() {
    }

    /** Announces the server and keeps the JVM alive until it is asked to stop, then closes the server. */
    static void serveUntilStopped(AutoCloseable server, String address) throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "embedded-server-shutdown"));
        System.out.println("READY " + address);
        System.out.flush();
        stopped.await();
    }
}
