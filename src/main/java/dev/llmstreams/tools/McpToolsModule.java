package dev.llmstreams.tools;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.runtime.mcp.McpServers;
import dev.llmstreams.runtime.tools.ToolRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;

/**
 * What the tool workers of a run ({@link ToolsModule}) and of a replay ({@link ReplayToolsModule})
 * share: the pattern's name, the interactive commit interval, and this app's MCP servers, opened
 * when the topology is built and released after the pattern closes.
 */
abstract class McpToolsModule implements PatternModule {
  private McpServers mcp;
  private AppConfig config;

  @Override
  public final String name() {
    return "tools";
  }

  /**
   * Opens this app's shared MCP servers (released in {@link #afterClose()}) and returns the tool
   * definitions: those of {@code tools.dir} and every tool the servers list.
   */
  protected final ToolRegistry openMcp(AppConfig config, MeterRegistry registry) {
    this.config = config;
    mcp = McpServers.shared(config, registry);
    return mcp.registry(config.getString(AppConfig.TOOLS_DIR));
  }

  /** The servers {@link #openMcp} opened. */
  protected final McpServers mcp() {
    return mcp;
  }

  /** A tool call is one of a goal's four committed hops: the short, interactive commit interval. */
  @Override
  public final Map<String, Object> streamsOverrides(AppConfig config) {
    return StreamsSettings.interactive(config);
  }

  @Override
  public void afterClose() {
    if (mcp != null) {
      McpServers.release(config, mcp);
      mcp = null;
    }
  }
}
