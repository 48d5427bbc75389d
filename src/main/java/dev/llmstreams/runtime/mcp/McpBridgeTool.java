package dev.llmstreams.runtime.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.runtime.tools.Tool;
import dev.llmstreams.runtime.tools.ToolException;
import java.time.Duration;

/**
 * Every tool of one MCP server, run by the tool workers: a call of {@code <server>__<tool>} on
 * {@code tool-calls.mcp.<server>} becomes a {@code tools/call} of {@code <tool>}. The worker has
 * already checked the arguments against the tool's {@code inputSchema} and answers a resent callId
 * from its memory, so a call answered once is never sent to the server again.
 */
public final class McpBridgeTool implements Tool {
  private final McpConnection connection;

  public McpBridgeTool(McpConnection connection) {
    this.connection = connection;
  }

  /** The key of the server's topic, {@code mcp.<server>}: one worker for all of its tools. */
  @Override
  public String name() {
    return connection.spec().topicKey();
  }

  @Override
  public boolean handles(String tool) {
    return connection.spec().name().equals(McpServerSpec.serverOf(tool));
  }

  @Override
  public Outcome execute(JsonNode arguments, Duration timeLimit) throws ToolException {
    throw new ToolException("an MCP call needs the tool's name");
  }

  @Override
  public Outcome execute(String tool, JsonNode arguments, Duration timeLimit)
      throws ToolException, InterruptedException {
    return Outcome.of(connection.call(McpServerSpec.toolOf(tool), arguments, timeLimit));
  }
}
