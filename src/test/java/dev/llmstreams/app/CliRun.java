package dev.llmstreams.app;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * One CLI command run in this JVM through {@link Main#commandLine}: its exit code and what it
 * printed on stderr.
 */
record CliRun(int exit, String err, String out) {
  static CliRun of(String... args) {
    picocli.CommandLine cli = Main.commandLine(args);
    StringWriter err = new StringWriter();
    StringWriter out = new StringWriter();
    cli.setErr(new PrintWriter(err, true));
    cli.setOut(new PrintWriter(out, true));
    int exit = cli.execute(args);
    return new CliRun(exit, err.toString(), out.toString());
  }
}
