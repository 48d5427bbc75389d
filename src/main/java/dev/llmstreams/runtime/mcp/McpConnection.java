package dev.llmstreams.runtime.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import dev.llmstreams.runtime.tools.ToolDefinition;
import dev.llmstreams.runtime.tools.ToolException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpClientTransport;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * One MCP server as the app sees it: a session (a child process for stdio), the tools it offers
 * after include and exclude, and calls with a time limit. A session that broke (the process died,
 * the server wrote something that is not JSON-RPC, a call outlived its time limit and the server no
 * longer answers a ping) is dropped and the next call starts a new one; the call that saw it break
 * fails with the reason.
 */
public final class McpConnection implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(McpConnection.class);
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonSchemaFactory SCHEMAS =
      JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);

  /** The longest text of a result kept (the rest is cut, and the result says so). */
  public static final int MAX_RESULT_CHARS = 100_000;

  /** The longest line a stdio server may write: a larger message ends its session. */
  static final int MAX_MESSAGE_CHARS = 16 * 1024 * 1024;

  private static final Duration INITIALIZE_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration PING_TIMEOUT = Duration.ofSeconds(2);

  private final McpServerSpec spec;
  private final MeterRegistry meters;
  private final Consumer<McpConnection> onToolsChanged;
  private final Semaphore slots;
  private final Counter restarts;
  private final AtomicInteger offered = new AtomicInteger();
  private volatile McpAsyncClient client;

  /** Completes when the current session's stdio process exits (never, for http). */
  private volatile Mono<Void> ended = Mono.never();

  private volatile List<ToolDefinition> tools = List.of();
  private volatile boolean closed;
  private int sessions;

  /**
   * @param onToolsChanged called after the tool list changed (a {@code notifications/
   *     tools/list_changed}, or a new session listing other tools)
   */
  public McpConnection(
      McpServerSpec spec, MeterRegistry meters, Consumer<McpConnection> onToolsChanged) {
    this.spec = spec;
    this.meters = meters;
    this.onToolsChanged = onToolsChanged;
    this.slots = new Semaphore(spec.concurrency(), true);
    this.restarts =
        Counter.builder("llmstreams.mcp.sessions.restarted")
            .description("MCP sessions started again after the previous one broke")
            .tag("server", spec.name())
            .register(meters);
    Gauge.builder("llmstreams.mcp.tools", offered, AtomicInteger::get)
        .description("Tools an MCP server offers to the controller (after include and exclude)")
        .tag("server", spec.name())
        .register(meters);
  }

  public McpServerSpec spec() {
    return spec;
  }

  /** The tools offered, as controller tool definitions named {@code <server>__<tool>}. */
  public List<ToolDefinition> tools() {
    return tools;
  }

  /**
   * Starts a session if there is none, and lists the tools.
   *
   * @throws McpUnavailableException when the server cannot be started or does not answer
   */
  public synchronized void connect() {
    if (client != null) {
      return;
    }
    if (closed) {
      throw new McpUnavailableException(spec.name(), "the connection is closed");
    }
    McpAsyncClient started;
    McpClientTransport transport;
    // The SDK only logs a stdio process that cannot start, and initialize then waits for its time
    // limit: the start failure ends the wait at once, with the reason (e.g. no such program).
    Sinks.One<Throwable> startFailed = Sinks.one();
    try {
      transport = transport(startFailed);
      started =
          McpClient.async(transport)
              .requestTimeout(Duration.ofMillis(spec.timeoutMs()))
              .initializationTimeout(INITIALIZE_TIMEOUT)
              .clientInfo(McpSchema.Implementation.builder("llm-streams", "1").build())
              .jsonSchemaValidator(new McpSchemaValidator())
              .enableCallToolSchemaCaching(true) // a result is checked against its outputSchema
              .toolsChangeConsumer(
                  list ->
                      Mono.fromRunnable(() -> replaceTools(list, "the server said they changed")))
              .build();
    } catch (RuntimeException e) {
      throw new McpUnavailableException(spec.name(), reason(e));
    }
    try {
      McpSchema.InitializeResult init =
          started
              .initialize()
              .or(startFailed.asMono().flatMap(Mono::<McpSchema.InitializeResult>error))
              .block(INITIALIZE_TIMEOUT.plusSeconds(1));
      if (spec.protocolVersion() != null
          && init != null
          && !spec.protocolVersion().equals(init.protocolVersion())) {
        LOG.warn(
            "MCP server {}: asked for protocol version {}, the session speaks {}",
            spec.name(),
            spec.protocolVersion(),
            init.protocolVersion());
      }
      LOG.info(
          "MCP server {}: session started, protocol {}",
          spec.describe(),
          init == null ? "unknown" : init.protocolVersion());
      List<McpSchema.Tool> listed = listAll(started);
      if (sessions++ > 0) {
        restarts.increment();
      }
      client = started;
      ended = watchExit(transport, started);
      replaceTools(listed, sessions == 1 ? "listed at start" : "listed by a new session");
    } catch (RuntimeException e) {
      started.close();
      throw new McpUnavailableException(spec.name(), reason(e));
    }
  }

  /**
   * For stdio: completes when the server process exits, and drops the session then, so a call in
   * flight fails at once with the reason (the SDK would leave it waiting for its time limit).
   */
  private Mono<Void> watchExit(McpClientTransport transport, McpAsyncClient session) {
    if (!(transport instanceof StdioClientTransport stdio)) {
      return Mono.never();
    }
    reactor.core.publisher.Sinks.Empty<Void> exited = reactor.core.publisher.Sinks.empty();
    Thread watcher =
        new Thread(
            () -> {
              try {
                stdio.awaitForExit();
              } catch (RuntimeException e) {
                return; // interrupted: the app is stopping
              }
              exited.tryEmitEmpty();
              synchronized (this) {
                if (client == session && !closed) {
                  LOG.warn(
                      "MCP server {}: the process exited; the next call starts it again",
                      spec.name());
                  client = null;
                }
              }
              session.close();
            },
            "mcp-" + spec.name() + "-exit");
    watcher.setDaemon(true);
    watcher.start();
    return exited.asMono();
  }

  private static List<McpSchema.Tool> listAll(McpAsyncClient c) {
    List<McpSchema.Tool> all = new ArrayList<>();
    String cursor = null;
    for (int page = 0; page < 100; page++) {
      McpSchema.ListToolsResult result = c.listTools(cursor).block(INITIALIZE_TIMEOUT);
      if (result == null) {
        break;
      }
      all.addAll(result.tools());
      cursor = result.nextCursor();
      if (cursor == null || cursor.isEmpty()) {
        break;
      }
    }
    return all;
  }

  private McpClientTransport transport(Sinks.One<Throwable> startFailed) {
    JacksonMcpJsonMapper json = new JacksonMcpJsonMapper(new ObjectMapper());
    if (spec.transport().equals("http")) {
      Map<String, String> headers = spec.resolvedHeaders();
      HttpClientStreamableHttpTransport.Builder http =
          HttpClientStreamableHttpTransport.builder(baseUrl(spec.url()))
              .endpoint(endpoint(spec.url()))
              .jsonMapper(json)
              .connectTimeout(Duration.ofSeconds(10))
              .requestBuilder(requestWith(headers));
      if (spec.protocolVersion() != null) {
        http.supportedProtocolVersions(List.of(spec.protocolVersion()));
      }
      return http.build();
    }
    ServerParameters params =
        ServerParameters.builder(spec.command()).args(spec.args()).env(spec.resolvedEnv()).build();
    StdioClientTransport stdio =
        new StdioClientTransport(params, json, MAX_MESSAGE_CHARS) {
          @Override
          public Mono<Void> connect(
              java.util.function.Function<
                      Mono<McpSchema.JSONRPCMessage>, Mono<McpSchema.JSONRPCMessage>>
                  handler) {
            return super.connect(handler)
                .doOnError(
                    e ->
                        startFailed.tryEmitValue(
                            e.getCause() instanceof IOException ? e.getCause() : e));
          }
        };
    stdio.setStdErrorHandler(
        line ->
            LOG.debug(
                "MCP server {} stderr: {}",
                spec.name(),
                line.length() > 500 ? line.substring(0, 500) + "..." : line));
    return stdio;
  }

  /** The template of every request to an http server: its declared headers (secrets included). */
  private static java.net.http.HttpRequest.Builder requestWith(Map<String, String> headers) {
    java.net.http.HttpRequest.Builder builder = java.net.http.HttpRequest.newBuilder();
    headers.forEach(builder::header);
    return builder;
  }

  private static String baseUrl(String url) {
    java.net.URI uri = java.net.URI.create(url);
    return uri.getScheme() + "://" + uri.getRawAuthority();
  }

  private static String endpoint(String url) {
    java.net.URI uri = java.net.URI.create(url);
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    return uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
  }

  private void replaceTools(List<McpSchema.Tool> listed, String why) {
    List<ToolDefinition> out = new ArrayList<>();
    for (McpSchema.Tool t : listed) {
      if (!spec.offers(t.name())) {
        continue;
      }
      String problem = null;
      ToolDefinition definition = null;
      try {
        JsonNode schema = MAPPER.valueToTree(t.inputSchema());
        // A schema the validator cannot compile or apply would stop every call of the tool later.
        SCHEMAS.getSchema(schema).validate(MAPPER.createObjectNode());
        McpSchema.ToolAnnotations a = t.annotations();
        String description =
            t.description() != null && !t.description().isBlank()
                ? t.description()
                : t.title() != null && !t.title().isBlank()
                    ? t.title()
                    : "Tool " + t.name() + " of MCP server " + spec.name();
        definition =
            new ToolDefinition(
                spec.toolName(t.name()),
                description,
                schema,
                spec.timeoutMs(),
                spec.requiresApproval(
                    a == null ? null : a.readOnlyHint(), a == null ? null : a.destructiveHint()),
                a != null
                    && Boolean.TRUE.equals(a.readOnlyHint())
                    && !Boolean.TRUE.equals(a.destructiveHint()));
      } catch (RuntimeException e) {
        problem = reason(e);
      }
      if (definition == null) {
        LOG.warn("MCP server {}: tool {} is not offered: {}", spec.name(), t.name(), problem);
        continue;
      }
      out.add(definition);
    }
    boolean changed = !out.equals(tools);
    tools = List.copyOf(out);
    offered.set(out.size());
    LOG.info(
        "MCP server {}: {} tools offered ({}): {}",
        spec.name(),
        out.size(),
        why,
        out.stream().map(ToolDefinition::name).toList());
    if (changed) {
      onToolsChanged.accept(this);
    }
  }

  /**
   * Calls one tool. The result holds {@code text} (the text content, joined), {@code
   * structuredContent} when the server gave one, and {@code content} for other content (images,
   * audio, resources: their type and size, not their data).
   *
   * @param tool the server's own name of the tool (without the {@code <server>__} prefix)
   * @throws ToolException when the call did not give a result: the server's error ({@code isError}
   *     or a JSON-RPC error), the time limit, a broken session; the message says which
   */
  public JsonNode call(String tool, JsonNode arguments, Duration limit)
      throws ToolException, InterruptedException {
    Duration timeLimit =
        limit.toMillis() > spec.timeoutMs() ? Duration.ofMillis(spec.timeoutMs()) : limit;
    Timer timer =
        Timer.builder("llmstreams.mcp.call.duration")
            .description("Time one MCP tools/call took, answered or not")
            .tags("server", spec.name(), "tool", tool)
            .register(meters);
    long start = System.nanoTime();
    String outcome = "error";
    if (!slots.tryAcquire(timeLimit.toMillis(), TimeUnit.MILLISECONDS)) {
      count(tool, "busy");
      throw new ToolException(
          "MCP server "
              + spec.name()
              + " had "
              + spec.concurrency()
              + " calls in flight for the whole time limit ("
              + timeLimit.toMillis()
              + " ms)");
    }
    try {
      McpAsyncClient session;
      Mono<Void> sessionEnded;
      synchronized (this) {
        try {
          connect();
        } catch (McpUnavailableException e) {
          throw new ToolException(e.getMessage());
        }
        session = client;
        sessionEnded = ended;
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> args = MAPPER.convertValue(arguments, Map.class);
      McpSchema.CallToolResult result;
      try {
        result =
            session
                .callTool(
                    McpSchema.CallToolRequest.builder(tool)
                        .arguments(args)
                        .meta(dev.llmstreams.observability.tracing.CurrentSpan.meta())
                        .build())
                .timeout(timeLimit)
                .takeUntilOther(sessionEnded)
                .block();
      } catch (McpError e) {
        outcome = "refused";
        throw new ToolException(
            "MCP server " + spec.name() + " refused the call: " + cut(reason(e), 2000));
      } catch (IllegalArgumentException e) {
        // The SDK's check of structuredContent against the tool's declared outputSchema.
        outcome = "invalid_output";
        throw new ToolException(
            "MCP server "
                + spec.name()
                + " answered against its own outputSchema: "
                + cut(String.valueOf(e.getMessage()), 1000));
      } catch (RuntimeException e) {
        boolean timedOut =
            reactor.core.Exceptions.unwrap(e) instanceof java.util.concurrent.TimeoutException;
        outcome = timedOut ? "timeout" : "broken";
        String why =
            timedOut
                ? "no answer within " + timeLimit.toMillis() + " ms"
                : "the session broke: " + cut(reason(e), 1000);
        dropIfBroken(session, why);
        throw new ToolException("MCP server " + spec.name() + ": " + why);
      }
      if (result == null) {
        outcome = "broken";
        dropIfBroken(session, "no result");
        throw new ToolException(
            "MCP server "
                + spec.name()
                + " gave no result: the server process exited during the call");
      }
      JsonNode out = toJson(result);
      if (Boolean.TRUE.equals(result.isError())) {
        outcome = "tool_error";
        String text = out.path("text").asText("");
        throw new ToolException(
            "the tool reported an error: " + (text.isBlank() ? out.toString() : cut(text, 2000)));
      }
      outcome = "ok";
      return out;
    } finally {
      slots.release();
      timer.record(Duration.ofNanos(System.nanoTime() - start));
      count(tool, outcome);
    }
  }

  private void count(String tool, String outcome) {
    Counter.builder("llmstreams.mcp.calls")
        .description(
            "MCP tools/call requests by outcome (ok, tool_error, refused, invalid_output, timeout, broken, busy)")
        .tags("server", spec.name(), "tool", tool, "outcome", outcome)
        .register(meters)
        .increment();
  }

  /** After a failed call: keeps the session if it still answers a ping, else drops it. */
  private void dropIfBroken(McpAsyncClient session, String why) {
    boolean alive;
    try {
      alive = session.ping().block(PING_TIMEOUT) != null;
    } catch (RuntimeException e) {
      alive = false;
    }
    if (alive) {
      return;
    }
    synchronized (this) {
      if (client == session) {
        LOG.warn(
            "MCP server {}: dropping the session ({}); the next call starts a new one",
            spec.name(),
            why);
        client = null;
      }
    }
    session.close();
  }

  static JsonNode toJson(McpSchema.CallToolResult result) {
    ObjectNode out = MAPPER.createObjectNode();
    StringBuilder text = new StringBuilder();
    ArrayNode other = MAPPER.createArrayNode();
    for (McpSchema.Content c :
        result.content() == null ? List.<McpSchema.Content>of() : result.content()) {
      if (c instanceof McpSchema.TextContent t) {
        if (text.length() > 0) {
          text.append('\n');
        }
        text.append(t.text());
      } else {
        JsonNode node = MAPPER.valueToTree(c);
        ObjectNode summary = MAPPER.createObjectNode();
        summary.put("type", c.type());
        node.properties()
            .forEach(
                e -> {
                  JsonNode v = e.getValue();
                  if (v.isTextual() && v.asText().length() > 200) {
                    summary.put(e.getKey() + "Chars", v.asText().length());
                  } else {
                    summary.set(e.getKey(), v);
                  }
                });
        other.add(summary);
      }
    }
    if (text.length() > 0) {
      out.put("text", cut(text.toString(), MAX_RESULT_CHARS));
    }
    if (result.structuredContent() != null) {
      JsonNode structured = MAPPER.valueToTree(result.structuredContent());
      if (structured.toString().length() > MAX_RESULT_CHARS) {
        out.put("structuredContent", cut(structured.toString(), MAX_RESULT_CHARS));
      } else {
        out.set("structuredContent", structured);
      }
    }
    if (!other.isEmpty()) {
      out.set("content", other);
    }
    return out;
  }

  static String cut(String s, int max) {
    return s.length() <= max
        ? s
        : s.substring(0, max) + " … [cut: " + max + " of " + s.length() + " characters kept]";
  }

  private static String reason(Throwable e) {
    Throwable t = reactor.core.Exceptions.unwrap(e);
    if (t.getMessage() == null && t.getCause() != null) {
      t = t.getCause();
    }
    String message = t.getMessage();
    return t.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  @Override
  public synchronized void close() {
    closed = true;
    McpAsyncClient c = client;
    client = null;
    if (c != null) {
      try {
        c.closeGracefully().block(Duration.ofSeconds(5));
      } catch (RuntimeException e) {
        c.close();
      }
    }
  }
}
