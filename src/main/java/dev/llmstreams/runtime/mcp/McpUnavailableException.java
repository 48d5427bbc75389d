package dev.llmstreams.runtime.mcp;

/** A declared MCP server could not be started, or did not answer its handshake and tool list. */
public final class McpUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public McpUnavailableException(String server, String reason) {
    super("MCP server " + server + " cannot be reached: " + reason);
  }
}
