package dev.llmstreams.tools;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.observability.HttpApi;
import dev.llmstreams.runtime.mcp.McpBridgeTool;
import dev.llmstreams.runtime.tools.Calculator;
import dev.llmstreams.runtime.tools.Tool;
import dev.llmstreams.runtime.tools.ToolRegistry;
import dev.llmstreams.runtime.tools.ToolWorkersTopology;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.HostInfo;

/**
 * The built-in tool workers (calculator, http_get, publish, synthesis) as a pattern the runner
 * starts.
 */
public final class ToolsModule extends McpToolsModule {
  /**
   * This instance's HTTP server, known only once the runner registers routes (after the topology is
   * built).
   */
  private final AtomicReference<HostInfo> self = new AtomicReference<>();

  @Override
  public Topology topology(TopicCatalog catalog, AppConfig config, MeterRegistry registry) {
    // The MCP bridge: one worker per declared server, for all the tools it lists.
    ToolRegistry definitions = openMcp(config, registry);
    Duration httpTimeout = Duration.ofMillis(config.getLong(AppConfig.TOOLS_HTTP_TIMEOUT_MS));
    String synthesisUrl = config.getString(AppConfig.TOOLS_SYNTHESIS_URL);
    List<Tool> tools =
        new java.util.ArrayList<>(
            List.of(
                new Calculator(),
                HttpGetTool.from(config),
                PublishTool.from(config),
                new SynthesisTool(
                    () -> synthesisUrl.isBlank() ? ownServer() : synthesisUrl,
                    config.getInt(AppConfig.TOOLS_HTTP_MAX_BYTES),
                    httpTimeout)));
    mcp().connections().forEach(c -> tools.add(new McpBridgeTool(c)));
    return new ToolWorkersTopology(
            catalog,
            definitions,
            tools,
            registry,
            Duration.ofMillis(config.getLong(AppConfig.TOOLS_RETENTION_MS)),
            ToolWorkersTopology.workerId(config, "tools"))
        .tracing(tracing(config))
        .build();
  }

  @Override
  public void registerRoutes(HttpApi http, KafkaStreams streams, HostInfo self) {
    this.self.set(self);
  }

  private String ownServer() {
    HostInfo h = self.get();
    return h == null ? null : "http://" + h.host() + ":" + h.port();
  }
}
