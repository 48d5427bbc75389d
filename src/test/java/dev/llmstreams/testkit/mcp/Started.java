package dev.llmstreams.testkit.mcp;

import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * An MCP server started as a child process that serves Streamable HTTP at {@code url}; {@link
 * #close()} stops it (SIGTERM, then SIGKILL after 5 s).
 *
 * @param url the MCP endpoint, e.g. {@code http://127.0.0.1:41234/mcp}
 * @param process the server process
 * @param output the file that holds the server's standard output and error
 */
public record Started(URI url, Process process, Path output) implements AutoCloseable {

  /** The port of {@link #url}. */
  public int port() {
    return url.getPort();
  }

  @Override
  public void close() {
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
