package dev.llmstreams.tools;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.mcp.McpBridgeTool;
import dev.llmstreams.runtime.mcp.McpConnection;
import dev.llmstreams.runtime.tools.Calculator;
import dev.llmstreams.runtime.tools.RecordedResults;
import dev.llmstreams.runtime.tools.Tool;
import dev.llmstreams.runtime.tools.ToolRegistry;
import dev.llmstreams.runtime.tools.ToolWorkersTopology;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.Topology;

/**
 * The tool workers of a replay ({@code replay goals}), on every tool topic of the run: a call the
 * original run made (same goal, tool and arguments) is answered from its recorded result; any other
 * runs only when its tool is read-only and has a worker here ({@link ReplayTool}), else it is
 * answered as {@value ReplayTool#NOT_EXECUTED}. No worker here can publish: the topology has no
 * sink but the run's {@code tool-results} (and spans).
 */
public final class ReplayToolsModule extends McpToolsModule {
  private final RecordedResults recorded;

  public ReplayToolsModule(RecordedResults recorded) {
    this.recorded = recorded;
  }

  @Override
  public Topology topology(TopicCatalog catalog, AppConfig config, MeterRegistry registry) {
    ToolRegistry definitions = openMcp(config, registry);
    Map<String, McpConnection> servers = new java.util.HashMap<>();
    mcp().connections().forEach(c -> servers.put(c.spec().topicKey(), c));
    List<Tool> tools = tools(catalog, definitions, config, servers);
    return new ToolWorkersTopology(
            catalog,
            definitions,
            tools,
            registry,
            Duration.ofMillis(config.getLong(AppConfig.TOOLS_RETENTION_MS)),
            ToolWorkersTopology.workerId(config, "tools"))
        .answeredFromRecord(recorded)
        .tracing(tracing(config))
        .build();
  }

  /**
   * A replay worker per tool topic of {@code catalog} (keyed by tool name or {@code mcp.<server>}),
   * each with the tool that runs read-only calls when the replay has one.
   */
  static List<Tool> tools(
      TopicCatalog catalog,
      ToolRegistry definitions,
      AppConfig config,
      Map<String, McpConnection> servers) {
    String synthesisUrl = config.getString(AppConfig.TOOLS_SYNTHESIS_URL);
    Duration httpTimeout = Duration.ofMillis(config.getLong(AppConfig.TOOLS_HTTP_TIMEOUT_MS));
    List<Tool> tools = new ArrayList<>();
    for (String key : new java.util.TreeSet<>(catalog.tools())) {
      Tool worker = null;
      String why = "its worker does not run in a replay";
      if (key.equals("calculator")) {
        worker = new Calculator();
      } else if (key.equals("synthesis")) {
        if (synthesisUrl.isBlank()) {
          why = "tools.synthesis.url is not set (a replay runs no summarizer of its own to ask)";
        } else {
          worker =
              new SynthesisTool(
                  () -> synthesisUrl, config.getInt(AppConfig.TOOLS_HTTP_MAX_BYTES), httpTimeout);
        }
      } else if (servers.containsKey(key)) {
        worker = new McpBridgeTool(servers.get(key));
      } else if (key.startsWith("mcp.")) {
        why = "its MCP server is not connected";
      }
      tools.add(new ReplayTool(key, worker, catalog, definitions, why));
    }
    return tools;
  }
}
