package dev.llmstreams.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.runtime.tools.RecordedResults;
import dev.llmstreams.runtime.tools.Tool;
import dev.llmstreams.runtime.tools.ToolDefinition;
import dev.llmstreams.runtime.tools.ToolException;
import dev.llmstreams.runtime.tools.ToolRegistry;
import dev.llmstreams.topics.TopicCatalog;
import java.time.Duration;
import java.util.Optional;

/**
 * The worker of one tool topic in a replay ({@code replay goals}), for calls the original run never
 * made (those it made are answered from their recorded results before any tool runs). It runs a
 * call only when the tool is read-only ({@link ToolDefinition#readOnly()}), needs no approval, and
 * has a worker in the replay (the calculator; synthesis when {@code tools.synthesis.url} names the
 * app to ask; an MCP server's read-only tools). Every other call is answered with an error that
 * starts with {@link #NOT_EXECUTED} and says why: {@code publish}, {@code http_get}, a destructive
 * MCP tool or a tool whose worker runs elsewhere is never executed in a replay.
 */
final class ReplayTool implements Tool {
  static final String NOT_EXECUTED = RecordedResults.NOT_EXECUTED;

  private final String name;
  private final Tool worker;
  private final TopicCatalog catalog;
  private final ToolRegistry registry;
  private final String noWorker;

  /**
   * @param name the key of the tool's topic (a tool's name, or {@code mcp.<server>})
   * @param worker the tool that runs read-only calls, or null when none runs in a replay
   * @param catalog the replay's topics, which say which topic carries a tool's calls
   * @param noWorker why there is no worker (when {@code worker} is null)
   */
  ReplayTool(
      String name, Tool worker, TopicCatalog catalog, ToolRegistry registry, String noWorker) {
    this.name = name;
    this.worker = worker;
    this.catalog = catalog;
    this.registry = registry;
    this.noWorker = noWorker;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public boolean handles(String tool) {
    if (worker != null) {
      return worker.handles(tool);
    }
    return name.equals(catalog.toolKey(tool));
  }

  @Override
  public Outcome execute(JsonNode arguments, Duration timeLimit) throws Exception {
    return execute(name, arguments, timeLimit);
  }

  @Override
  public Outcome execute(String tool, JsonNode arguments, Duration timeLimit) throws Exception {
    Optional<ToolDefinition> definition = registry.find(tool);
    if (definition.isEmpty() || !definition.get().readOnly()) {
      throw new ToolException(
          NOT_EXECUTED
              + ": "
              + tool
              + " is not read-only and the original run never made this call");
    }
    if (definition.get().requiresApproval()) {
      throw new ToolException(
          NOT_EXECUTED
              + ": "
              + tool
              + " needs a person's approval and the original run never made this call");
    }
    if (worker == null) {
      throw new ToolException(NOT_EXECUTED + ": " + tool + " is read-only, but " + noWorker);
    }
    return worker.execute(tool, arguments, timeLimit);
  }
}
