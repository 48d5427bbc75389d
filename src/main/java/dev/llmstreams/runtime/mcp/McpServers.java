package dev.llmstreams.runtime.mcp;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.tools.ToolDefinition;
import dev.llmstreams.runtime.tools.ToolRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The MCP servers declared in {@code mcp.dir}, one {@link McpConnection} each. Every pattern of a
 * process that needs them (the controller for the tool list, the tools pattern for the calls)
 * shares one instance per process ({@link #shared}), so a stdio server runs once per process.
 */
public final class McpServers implements AutoCloseable {
  private static final Map<String, McpServers> SHARED = new LinkedHashMap<>();
  private static final Map<String, Integer> USERS = new LinkedHashMap<>();

  private final Map<String, McpConnection> connections = new LinkedHashMap<>();
  private final List<Consumer<McpServers>> listeners = new CopyOnWriteArrayList<>();

  public McpServers(List<McpServerSpec> specs, MeterRegistry meters) {
    for (McpServerSpec spec : specs) {
      connections.put(spec.name(), new McpConnection(spec, meters, c -> changed()));
    }
  }

  /**
   * The servers of {@code mcp.dir}, shared by every pattern of this process until each one {@link
   * #release}s them; not connected yet.
   */
  public static synchronized McpServers shared(AppConfig config, MeterRegistry meters) {
    String dir = config.getString(AppConfig.MCP_DIR);
    McpServers servers =
        SHARED.computeIfAbsent(dir, d -> new McpServers(McpServerSpec.load(d), meters));
    USERS.merge(dir, 1, Integer::sum);
    return servers;
  }

  /** Gives back a {@link #shared} instance; the last user closes it. */
  public static synchronized void release(AppConfig config, McpServers servers) {
    String dir = config.getString(AppConfig.MCP_DIR);
    if (SHARED.get(dir) != servers) {
      return;
    }
    if (USERS.merge(dir, -1, Integer::sum) <= 0) {
      SHARED.remove(dir);
      USERS.remove(dir);
      servers.close();
    }
  }

  public boolean isEmpty() {
    return connections.isEmpty();
  }

  public List<McpConnection> connections() {
    return List.copyOf(connections.values());
  }

  /**
   * Starts every server's session and lists its tools.
   *
   * @throws McpUnavailableException naming the first server that cannot be reached, and why
   */
  public void connectAll() {
    for (McpConnection c : connections.values()) {
      c.connect();
    }
  }

  /** Every offered tool of every server, as controller tool definitions. */
  public List<ToolDefinition> definitions() {
    List<ToolDefinition> out = new ArrayList<>();
    connections.values().forEach(c -> out.addAll(c.tools()));
    return out;
  }

  /**
   * The tool registry of {@code tools.dir} and the shipped definitions, with every server's tools
   * (connecting to the servers first), kept up to date as servers change their tool lists.
   *
   * @throws McpUnavailableException when a declared server cannot be reached
   */
  public ToolRegistry registry(String toolsDir) {
    ToolRegistry registry = ToolRegistry.load(toolsDir);
    if (isEmpty()) {
      return registry;
    }
    connectAll();
    registry.replaceDiscovered(definitions());
    onChange(s -> registry.replaceDiscovered(s.definitions()));
    return registry;
  }

  /** Called after any server's tool list changed. */
  public void onChange(Consumer<McpServers> listener) {
    listeners.add(listener);
  }

  private void changed() {
    listeners.forEach(l -> l.accept(this));
  }

  @Override
  public void close() {
    connections.values().forEach(McpConnection::close);
  }
}
