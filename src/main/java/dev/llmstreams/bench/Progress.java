package dev.llmstreams.bench;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;

/**
 * Progress lines of a benchmark (or another long command) on stderr, so stdout stays the report.
 */
public final class Progress {
  private final PrintStream out;
  private final String command;
  private final Instant began = Instant.now();

  Progress(PrintStream out) {
    this(out, "bench");
  }

  /**
   * @param command what the lines are prefixed with, e.g. {@code train}
   */
  public Progress(PrintStream out, String command) {
    this.out = out;
    this.command = command;
  }

  public void say(String format, Object... args) {
    out.printf(
        "[%s %5.1fs] %s%n",
        command,
        Duration.between(began, Instant.now()).toMillis() / 1000.0,
        args.length == 0 ? format : String.format(format, args));
    out.flush();
  }
}
