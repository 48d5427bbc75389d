package dev.llmstreams.mcpserver;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.llmstreams.events.Json;
import dev.llmstreams.observability.HttpApi;
import dev.llmstreams.observability.HttpAuth;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.modelcontextprotocol.common.McpTransportContext;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpStatelessServerHandler;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpStatelessServerTransport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

/**
 * The MCP Streamable HTTP transport, stateless, on the app's own HTTP server ({@code
 * com.sun.net.httpserver}): the SDK's {@link McpStatelessServerTransport} contract, as its
 * servlet-based {@code HttpServletStatelessServerTransport} does it. {@code POST /mcp} with one
 * JSON-RPC request answers {@code 200 application/json} with the response; a notification or a
 * response is acknowledged with {@code 202}; other methods get {@code 405}. Before the message
 * reaches the server: an {@code Origin} that is neither loopback nor configured gets {@code 403}
 * (DNS rebinding), a missing or unknown bearer token {@code 401} (when tokens are required), a
 * token without the scope of the message {@code 403} ({@link #scope}), a body over {@link
 * #MAX_REQUEST_BYTES} {@code 413}, a {@code Content-Type} other than JSON {@code 415}, an {@code
 * Accept} without JSON and SSE {@code 406}, an unsupported {@code MCP-Protocol-Version} {@code
 * 400}. Requests are answered when the server's reply is ready, from the thread that made it, so a
 * tool that waits does not hold one of the HTTP server's threads.
 */
public final class HttpEndpoint implements McpStatelessServerTransport, HttpHandler {
  private static final Logger LOG = LoggerFactory.getLogger(HttpEndpoint.class);

  public static final String PATH = "/mcp";
  public static final int MAX_REQUEST_BYTES = 4 * 1024 * 1024;

  /** How much of a body too large is read (and dropped) before the 413, so the client sees it. */
  private static final long DRAIN_BYTES = 4L * MAX_REQUEST_BYTES;

  /** Longest a request may take, the longest tool wait included. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(LlmStreamsTools.MAX_WAIT_SECONDS + 60);

  /** The JSON-RPC methods counted by name; any other is counted as {@code other}. */
  private static final Set<String> METHODS =
      Set.of(
          McpSchema.METHOD_INITIALIZE,
          McpSchema.METHOD_NOTIFICATION_INITIALIZED,
          McpSchema.METHOD_PING,
          McpSchema.METHOD_TOOLS_LIST,
          McpSchema.METHOD_TOOLS_CALL,
          McpSchema.METHOD_RESOURCES_LIST,
          McpSchema.METHOD_RESOURCES_READ,
          McpSchema.METHOD_RESOURCES_TEMPLATES_LIST,
          "notifications/cancelled");

  /** The key of the caller's {@code Authorization} header in the transport context. */
  static final String AUTHORIZATION = "authorization";

  /** The tools that only read; every other tool (those that produce) needs the write scope. */
  static final Set<String> READ_TOOLS =
      Set.of(
          LlmStreamsTools.GET_GOAL,
          LlmStreamsTools.GET_SYNTHESIS,
          LlmStreamsTools.LIST_GOALS,
          LlmStreamsTools.LIST_SYNTHESES);

  private final McpJsonMapper json;
  private final HttpApi http;
  private final OriginPolicy origins;
  private final MeterRegistry registry;
  private volatile McpStatelessServerHandler handler;
  private volatile boolean closing;

  HttpEndpoint(McpJsonMapper json, HttpApi http, OriginPolicy origins, MeterRegistry registry) {
    this.json = json;
    this.http = http;
    this.origins = origins;
    this.registry = registry;
  }

  /**
   * The scope a message needs: {@code tools/call} of a tool that only reads and the resource
   * methods read, of any other tool write; anything else ({@code initialize}, {@code tools/list},
   * {@code ping}, notifications) any valid token (null).
   */
  static HttpAuth.Scope scope(JsonNode message) {
    String method = message.path("method").asText("");
    if (method.equals(McpSchema.METHOD_TOOLS_CALL)) {
      return READ_TOOLS.contains(message.path("params").path("name").asText(""))
          ? HttpAuth.Scope.READ
          : HttpAuth.Scope.WRITE;
    }
    if (method.startsWith("resources/")) {
      return HttpAuth.Scope.READ;
    }
    return null;
  }

  @Override
  public void setMcpHandler(McpStatelessServerHandler mcpHandler) {
    this.handler = mcpHandler;
  }

  @Override
  public Mono<Void> closeGracefully() {
    return Mono.fromRunnable(() -> closing = true);
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try {
      serve(exchange);
    } catch (IOException | RuntimeException e) {
      LOG.warn("MCP {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
      count("none", "rejected");
      reply(exchange, 500, jsonRpcError(McpSchema.ErrorCodes.INTERNAL_ERROR, "internal error"));
    }
  }

  private void serve(HttpExchange exchange) throws IOException {
    URI uri = exchange.getRequestURI();
    if (!PATH.equals(uri.getPath()) && !(PATH + "/").equals(uri.getPath())) {
      reject(exchange, 404, McpSchema.ErrorCodes.INVALID_REQUEST, "no such endpoint: use " + PATH);
      return;
    }
    String origin = exchange.getRequestHeaders().getFirst("Origin");
    if (!origins.allows(origin)) {
      LOG.warn(
          "MCP request from {} refused: Origin {} is not allowed (DNS rebinding protection; see"
              + " mcp.server.allowed.origins)",
          exchange.getRemoteAddress(),
          shorten(origin));
      reject(exchange, 403, McpSchema.ErrorCodes.INVALID_REQUEST, "Origin not allowed");
      return;
    }
    String authorization = exchange.getRequestHeaders().getFirst("Authorization");
    HttpAuth.Outcome outcome = http.auth().check(authorization, null);
    if (!outcome.allowed()) {
      http.refused(exchange, PATH, outcome);
      reject(exchange, 401, McpSchema.ErrorCodes.INVALID_REQUEST, outcome.message());
      return;
    }
    if (!"POST".equals(exchange.getRequestMethod())) {
      exchange.getResponseHeaders().set("Allow", "POST");
      reject(
          exchange,
          405,
          McpSchema.ErrorCodes.INVALID_REQUEST,
          "Method Not Allowed: this stateless server takes POST only (no SSE stream, no session)");
      return;
    }
    if (closing || handler == null) {
      reject(exchange, 503, McpSchema.ErrorCodes.INTERNAL_ERROR, "the server is shutting down");
      return;
    }
    String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
    if (contentType == null || !mediaType(contentType).equals("application/json")) {
      reject(
          exchange,
          415,
          McpSchema.ErrorCodes.INVALID_REQUEST,
          "Unsupported Media Type: Content-Type must be application/json");
      return;
    }
    if (!accepts(exchange.getRequestHeaders().get("Accept"))) {
      reject(
          exchange,
          406,
          McpSchema.ErrorCodes.INVALID_REQUEST,
          "Not Acceptable: Accept must list both application/json and text/event-stream");
      return;
    }
    String version = exchange.getRequestHeaders().getFirst("MCP-Protocol-Version");
    if (version != null && !protocolVersions().contains(version.trim())) {
      reject(
          exchange,
          400,
          McpSchema.ErrorCodes.INVALID_REQUEST,
          "Bad Request: unsupported MCP-Protocol-Version "
              + shorten(version)
              + "; supported: "
              + String.join(", ", protocolVersions()));
      return;
    }
    String length = exchange.getRequestHeaders().getFirst("Content-Length");
    byte[] body = length != null && tooLong(length) ? null : readBody(exchange.getRequestBody());
    if (body == null) {
      // Read what the client sends (up to a bound) before answering: a connection closed on unread
      // data is reset, and the client would see the reset, not the 413.
      drain(exchange.getRequestBody());
      reject(exchange, 413, McpSchema.ErrorCodes.INVALID_REQUEST, tooLarge());
      return;
    }
    dispatch(exchange, new String(body, StandardCharsets.UTF_8), authorization);
  }

  private void dispatch(HttpExchange exchange, String body, String authorization)
      throws IOException {
    JsonNode tree;
    try {
      tree = Json.reader().readTree(body);
    } catch (IOException e) {
      reject(exchange, 400, McpSchema.ErrorCodes.PARSE_ERROR, "Parse error: the body is not JSON");
      return;
    }
    if (tree == null || !tree.isObject()) {
      reject(
          exchange,
          400,
          McpSchema.ErrorCodes.INVALID_REQUEST,
          "Invalid Request: the body must be one JSON-RPC message object (no batches)");
      return;
    }
    String method = tree.path("method").isTextual() ? tree.get("method").asText() : null;
    String counted = method == null ? "none" : METHODS.contains(method) ? method : "other";
    if (!"2.0".equals(tree.path("jsonrpc").asText(null))
        || (tree.has("method") && method == null)
        || (tree.has("id") && !(tree.get("id").isTextual() || tree.get("id").isIntegralNumber()))) {
      count(counted, "rejected");
      reply(
          exchange,
          400,
          jsonRpcError(
              McpSchema.ErrorCodes.INVALID_REQUEST,
              "Invalid Request: not a JSON-RPC 2.0 message",
              tree.get("id")));
      return;
    }
    McpSchema.JSONRPCMessage message;
    try {
      message = McpSchema.deserializeJsonRpcMessage(json, body);
    } catch (IOException | IllegalArgumentException e) {
      count(counted, "rejected");
      reply(
          exchange,
          400,
          jsonRpcError(
              McpSchema.ErrorCodes.INVALID_REQUEST,
              "Invalid Request: not a JSON-RPC request, notification or response",
              tree.get("id")));
      return;
    }
    HttpAuth.Scope scope = scope(tree);
    if (scope != null) {
      HttpAuth.Outcome outcome = http.auth().check(authorization, scope);
      if (!outcome.allowed()) {
        http.refused(exchange, PATH, outcome);
        count(counted, "rejected");
        reply(
            exchange,
            outcome.reason().status(),
            jsonRpcError(McpSchema.ErrorCodes.INVALID_REQUEST, outcome.message(), tree.get("id")));
        return;
      }
    }
    // The tools that read ask the app's HTTP server on the caller's behalf, with its token.
    McpTransportContext context =
        authorization == null || !http.auth().required()
            ? McpTransportContext.EMPTY
            : McpTransportContext.create(Map.of(AUTHORIZATION, authorization));
    if (message instanceof McpSchema.JSONRPCRequest request) {
      handler
          .handleRequest(context, request)
          .contextWrite(ctx -> ctx.put(McpTransportContext.KEY, context))
          .timeout(REQUEST_TIMEOUT)
          .subscribe(
              response -> answer(exchange, counted, response),
              error -> {
                LOG.warn("MCP {} failed", request.method(), error);
                count(counted, "error");
                replyQuietly(
                    exchange,
                    500,
                    jsonRpcError(
                        McpSchema.ErrorCodes.INTERNAL_ERROR,
                        "Internal error: " + error.getMessage(),
                        tree.get("id")));
              });
    } else if (message instanceof McpSchema.JSONRPCNotification notification) {
      handler
          .handleNotification(context, notification)
          .contextWrite(ctx -> ctx.put(McpTransportContext.KEY, context))
          .timeout(REQUEST_TIMEOUT)
          .subscribe(
              null,
              error -> {
                LOG.warn("MCP notification {} failed", notification.method(), error);
                count(counted, "error");
                replyQuietly(exchange, 500, null);
              },
              () -> {
                count(counted, "accepted");
                replyQuietly(exchange, 202, null);
              });
    } else {
      // A response to a request of ours: this server sends none, so there is nothing to match.
      count("response", "accepted");
      reply(exchange, 202, null);
    }
  }

  private void answer(HttpExchange exchange, String method, McpSchema.JSONRPCResponse response) {
    String outcome =
        response.error() != null
            ? "error"
            : response.result() instanceof McpSchema.CallToolResult r
                    && Boolean.TRUE.equals(r.isError())
                ? "tool_error"
                : "ok";
    count(method, outcome);
    String text;
    try {
      text = json.writeValueAsString(response);
    } catch (IOException e) {
      LOG.warn("MCP: cannot write the response to {}", method, e);
      replyQuietly(
          exchange,
          500,
          jsonRpcError(
              McpSchema.ErrorCodes.INTERNAL_ERROR,
              "Internal error: the response cannot be written",
              null));
      return;
    }
    replyQuietly(exchange, 200, text);
  }

  private void count(String method, String outcome) {
    Counter.builder("llmstreams.mcp.server.requests")
        .description(
            "Messages to /mcp by JSON-RPC method and outcome (ok, tool_error, error, accepted,"
                + " rejected before the server)")
        .tags("method", method, "outcome", outcome)
        .register(registry)
        .increment();
  }

  private void reject(HttpExchange exchange, int status, int code, String message)
      throws IOException {
    count("none", "rejected");
    reply(exchange, status, jsonRpcError(code, message, null));
  }

  private static String jsonRpcError(int code, String message) {
    return jsonRpcError(code, message, null);
  }

  private static String jsonRpcError(int code, String message, JsonNode id) {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("code", code);
    error.put("message", message);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("jsonrpc", "2.0");
    body.put("id", id == null || id.isNull() ? null : id);
    body.put("error", error);
    try {
      return Json.writer().writeValueAsString(body);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void replyQuietly(HttpExchange exchange, int status, String json) {
    try {
      reply(exchange, status, json);
    } catch (IOException e) {
      LOG.debug("MCP: the client went away before its answer", e);
    }
  }

  /** Sends the answer and closes the exchange; {@code json} null: no body. */
  private static void reply(HttpExchange exchange, int status, String json) throws IOException {
    try {
      if (json == null) {
        exchange.sendResponseHeaders(status, -1);
      } else {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(bytes);
        }
      }
    } finally {
      exchange.close();
    }
  }

  /** The body, or null when it is longer than {@link #MAX_REQUEST_BYTES}. */
  private static byte[] readBody(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[16 * 1024];
    int n;
    while ((n = in.read(buffer)) != -1) {
      if (out.size() + n > MAX_REQUEST_BYTES) {
        return null; // the rest is drained by the caller
      }
      out.write(buffer, 0, n);
    }
    in.close();
    return out.toByteArray();
  }

  /** Reads and drops the rest of a body, at most {@link #DRAIN_BYTES}. */
  private static void drain(InputStream in) {
    try (in) {
      byte[] buffer = new byte[64 * 1024];
      long read = 0;
      int n;
      while (read < DRAIN_BYTES && (n = in.read(buffer)) != -1) {
        read += n;
      }
    } catch (IOException e) {
      LOG.debug("MCP: the client went away while sending a body too large", e);
    }
  }

  private static boolean tooLong(String contentLength) {
    try {
      return Long.parseLong(contentLength.trim()) > MAX_REQUEST_BYTES;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static String tooLarge() {
    return "Payload Too Large: a message may have at most " + MAX_REQUEST_BYTES + " bytes";
  }

  private static String mediaType(String header) {
    return header.split(";")[0].trim().toLowerCase(Locale.ROOT);
  }

  /**
   * Whether the {@code Accept} headers list both {@code application/json} and {@code
   * text/event-stream}, as the transport requires of clients (wildcards count).
   */
  static boolean accepts(List<String> headers) {
    if (headers == null) {
      return false;
    }
    boolean json = false;
    boolean sse = false;
    for (String header : headers) {
      for (String part : header.split(",")) {
        String type = mediaType(part);
        json |= type.equals("application/json") || type.equals("application/*");
        sse |= type.equals("text/event-stream") || type.equals("text/*");
        if (type.equals("*/*")) {
          json = true;
          sse = true;
        }
      }
    }
    return json && sse;
  }

  private static String shorten(String s) {
    return s == null ? "(none)" : s.length() > 100 ? s.substring(0, 100) + "..." : s;
  }
}
