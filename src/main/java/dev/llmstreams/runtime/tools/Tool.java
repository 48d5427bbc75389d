package dev.llmstreams.runtime.tools;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;

/**
 * A tool built into the worker ({@code run --patterns tools}). The worker has already checked the
 * arguments against the tool's definition ({@code topics/tools/<name>.json}); a tool only does its
 * work.
 */
public interface Tool {
  /** The tool's name, as in its definition and its topic {@code tool-calls.<name>}. */
  String name();

  /**
   * Runs one call. An expected failure (bad expression, host not allowed, 404) is a {@link
   * ToolException} whose message is shown to the caller; any other exception is reported the same
   * way, and the worker keeps going.
   *
   * @param timeLimit the most this call may take (the call's own timeoutMs; a tool may have a
   *     tighter limit)
   */
  Outcome execute(JsonNode arguments, Duration timeLimit) throws Exception;

  /**
   * Runs one call of {@code tool}, one of the tools this worker {@link #handles}; a worker of one
   * tool ignores the name.
   */
  default Outcome execute(String tool, JsonNode arguments, Duration timeLimit) throws Exception {
    return execute(arguments, timeLimit);
  }

  /**
   * Whether calls of {@code tool} are this worker's: by default the tool of its own name. A worker
   * of several tools (an MCP server's) is keyed by its topic and names none of them itself.
   */
  default boolean handles(String tool) {
    return name().equals(tool);
  }

  /**
   * Whether this tool's outcomes may carry {@link Publication}s. The worker topology gets its
   * dynamic publishing sink only when one of its tools says so, so a worker that never publishes
   * cannot write outside its result topic.
   */
  default boolean publishes() {
    return false;
  }

  /**
   * What a call produced: the result shown to the caller and the records to publish with it,
   * written in the same transaction as the result.
   */
  record Outcome(JsonNode result, List<Publication> publications) {
    public Outcome {
      publications = List.copyOf(publications);
    }

    public static Outcome of(JsonNode result) {
      return new Outcome(result, List.of());
    }
  }

  /** One record for the worker to write to {@code topic}; key may be null. */
  record Publication(String topic, String key, JsonNode value) {}
}
