package dev.sdmesh.cli;

import java.io.PrintStream;

/** A one-line text progress bar on stderr. */
final class ProgressBar {
    private final PrintStream out;
    private boolean drawn;

    ProgressBar(PrintStream out) {
        this.out = out;
    }

    void update(int step, int total) {
        if (total <= 0) return;
        int width = 30;
        int filled = Math.min(width, step * width / total);
        out.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + step + "/" + total);
        out.flush();
        drawn = true;
    }

    void finish() {
        if (drawn) out.println();
    }
}
