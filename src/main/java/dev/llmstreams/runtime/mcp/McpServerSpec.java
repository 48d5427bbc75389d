package dev.llmstreams.runtime.mcp;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.llmstreams.topics.JsonFolder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One MCP server whose tools the controller may call, as declared in {@code <mcp.dir>/<name>.json}.
 *
 * <pre>{@code
 * {"name": "files", "transport": "stdio",
 *  "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@2026.8.31", "/data"],
 *  "include": ["read_text_file", "list_directory"], "timeoutMs": 20000}
 * {"name": "crm", "transport": "http", "url": "https://mcp.example.com/mcp",
 *  "headers": {"Authorization": "Bearer ${file:/run/secrets/crm_token}"}, "approval": "always"}
 * }</pre>
 *
 * @param name the server's name: its tools are offered as {@code <name>__<tool>}, its calls go to
 *     {@code tool-calls.mcp.<name>}
 * @param transport {@code stdio} (a child process per worker) or {@code http} (Streamable HTTP)
 * @param env extra environment of a stdio server; values may be {@code ${env:NAME}} or {@code
 *     ${file:/path}}
 * @param headers HTTP headers sent with every request of an http server; values as for env
 * @param include tools to offer (empty: all the server lists)
 * @param exclude tools never to offer
 * @param approval {@code annotations} (default: a tool needs an approval unless the server
 *     annotates it {@code readOnlyHint: true} and not {@code destructiveHint: true}), {@code
 *     always} or {@code never}
 * @param concurrency calls in flight to this server from one worker process
 * @param timeoutMs the longest one call may take (the call's own timeoutMs is the default)
 * @param protocolVersion the MCP protocol version to ask for, or null for the client's latest
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record McpServerSpec(
    String name,
    String transport,
    String command,
    List<String> args,
    Map<String, String> env,
    String url,
    Map<String, String> headers,
    List<String> include,
    List<String> exclude,
    String approval,
    Integer concurrency,
    Long timeoutMs,
    String protocolVersion) {

  /** Separates the server from its tool in the names offered to the LLM: {@code files__read}. */
  public static final String SEPARATOR = dev.llmstreams.topics.TopicCatalog.MCP_TOOL_SEPARATOR;

  public static final String NAME_PATTERN = "^[a-z0-9][a-z0-9-]{0,29}$";
  static final long DEFAULT_TIMEOUT_MS = 30_000;
  static final int DEFAULT_CONCURRENCY = 4;
  private static final Pattern REFERENCE = Pattern.compile("\\$\\{(env|file):([^}]+)}");

  public McpServerSpec {
    if (name == null || !name.matches(NAME_PATTERN)) {
      throw new IllegalArgumentException(
          "MCP server name '" + name + "' must match " + NAME_PATTERN);
    }
    transport = transport == null ? "stdio" : transport;
    args = args == null ? List.of() : List.copyOf(args);
    env = env == null ? Map.of() : Map.copyOf(env);
    headers = headers == null ? Map.of() : Map.copyOf(headers);
    include = include == null ? List.of() : List.copyOf(include);
    exclude = exclude == null ? List.of() : List.copyOf(exclude);
    approval = approval == null ? "annotations" : approval;
    concurrency = concurrency == null ? DEFAULT_CONCURRENCY : concurrency;
    timeoutMs = timeoutMs == null ? DEFAULT_TIMEOUT_MS : timeoutMs;
    switch (transport) {
      case "stdio" -> {
        if (command == null || command.isBlank()) {
          throw new IllegalArgumentException("MCP server " + name + ": stdio needs a command");
        }
      }
      case "http" -> {
        if (url == null || !(url.startsWith("http://") || url.startsWith("https://"))) {
          throw new IllegalArgumentException(
              "MCP server " + name + ": http needs a url starting with http:// or https://");
        }
      }
      default ->
          throw new IllegalArgumentException(
              "MCP server " + name + ": transport must be stdio or http, not '" + transport + "'");
    }
    if (!List.of("annotations", "always", "never").contains(approval)) {
      throw new IllegalArgumentException(
          "MCP server " + name + ": approval must be annotations, always or never");
    }
    if (concurrency < 1 || concurrency > 256) {
      throw new IllegalArgumentException(
          "MCP server " + name + ": concurrency must be between 1 and 256");
    }
    if (timeoutMs < 1) {
      throw new IllegalArgumentException("MCP server " + name + ": timeoutMs must be at least 1");
    }
  }

  /** A stdio server running {@code command} (program and arguments), every other field default. */
  public static McpServerSpec stdio(String name, List<String> command, long timeoutMs) {
    return new McpServerSpec(
        name,
        "stdio",
        command.get(0),
        command.subList(1, command.size()),
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        timeoutMs,
        null);
  }

  /** A Streamable HTTP server at {@code url}, every other field default. */
  public static McpServerSpec http(
      String name, String url, Map<String, String> headers, long timeoutMs) {
    return new McpServerSpec(
        name, "http", null, null, null, url, headers, null, null, null, null, timeoutMs, null);
  }

  /** This declaration with {@code exclude} as its excluded tools. */
  public McpServerSpec excluding(List<String> tools) {
    return new McpServerSpec(
        name,
        transport,
        command,
        args,
        env,
        url,
        headers,
        include,
        tools,
        approval,
        concurrency,
        timeoutMs,
        protocolVersion);
  }

  /** The tool name offered to the LLM for this server's tool {@code tool}. */
  public String toolName(String tool) {
    return name + SEPARATOR + tool;
  }

  /** The key of this server's topic in the catalog's tool topics: {@code mcp.<name>}. */
  public String topicKey() {
    return topicKey(name);
  }

  public static String topicKey(String server) {
    return dev.llmstreams.topics.TopicCatalog.mcpTopicKey(server);
  }

  /** The server part of an offered tool name ({@code files__read} → {@code files}), or null. */
  public static String serverOf(String toolName) {
    int i = toolName == null ? -1 : toolName.indexOf(SEPARATOR);
    return i <= 0 ? null : toolName.substring(0, i);
  }

  /** The server's own name for an offered tool ({@code files__read} → {@code read}). */
  public static String toolOf(String toolName) {
    int i = toolName.indexOf(SEPARATOR);
    return toolName.substring(i + SEPARATOR.length());
  }

  /** Whether the server's tool {@code tool} is offered, after include and exclude. */
  public boolean offers(String tool) {
    return (include.isEmpty() || include.contains(tool)) && !exclude.contains(tool);
  }

  /**
   * Whether calls of a tool need a person's approval.
   *
   * @param readOnlyHint the server's annotation, null when absent (MCP's default is false)
   * @param destructiveHint the server's annotation, null when absent (MCP's default is true)
   */
  public boolean requiresApproval(Boolean readOnlyHint, Boolean destructiveHint) {
    return switch (approval) {
      case "always" -> true;
      case "never" -> false;
      default -> !Boolean.TRUE.equals(readOnlyHint) || Boolean.TRUE.equals(destructiveHint);
    };
  }

  /** env with every {@code ${env:…}} and {@code ${file:…}} resolved. Never log the result. */
  public Map<String, String> resolvedEnv() {
    return resolve(env, "env");
  }

  /** headers with every {@code ${env:…}} and {@code ${file:…}} resolved. Never log the result. */
  public Map<String, String> resolvedHeaders() {
    return resolve(headers, "headers");
  }

  private Map<String, String> resolve(Map<String, String> values, String field) {
    Map<String, String> out = new LinkedHashMap<>();
    values.forEach((k, v) -> out.put(k, resolve(v, field + "." + k)));
    return out;
  }

  private String resolve(String value, String where) {
    Matcher m = REFERENCE.matcher(value);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String replacement;
      if (m.group(1).equals("env")) {
        replacement = System.getenv(m.group(2));
        if (replacement == null) {
          throw new IllegalStateException(
              "MCP server "
                  + name
                  + ": "
                  + where
                  + " names environment variable "
                  + m.group(2)
                  + ", which is not set");
        }
      } else {
        try {
          replacement = Files.readString(Path.of(m.group(2)), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
          throw new IllegalStateException(
              "MCP server "
                  + name
                  + ": "
                  + where
                  + " names file "
                  + m.group(2)
                  + ", which cannot be read: "
                  + e.getClass().getSimpleName());
        }
      }
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return out.toString();
  }

  /** What to log about the server: never env or header values. */
  public String describe() {
    return name
        + " ("
        + (transport.equals("stdio")
            ? "stdio: " + command + " " + String.join(" ", args)
            : "http: " + url)
        + ")";
  }

  /** Every {@code *.json} of a folder, each one server named like its file; null or blank: none. */
  public static List<McpServerSpec> load(String dir) {
    if (dir == null || dir.isBlank()) {
      return List.of();
    }
    Path folder = Path.of(dir);
    if (!Files.isDirectory(folder)) {
      throw new IllegalStateException(
          "MCP servers: mcp.dir " + folder.toAbsolutePath() + " is not a folder");
    }
    return JsonFolder.read(
        folder, McpServerSpec.class, McpServerSpec::name, "MCP servers", "declares server");
  }
}
