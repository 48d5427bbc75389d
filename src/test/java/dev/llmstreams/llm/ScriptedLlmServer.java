package dev.llmstreams.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.testkit.LoopbackHttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A real HTTP server on 127.0.0.1 that plays an LLM provider from a script, for provider, gateway
 * and controller tests. It speaks whatever you script; helpers build realistic OpenAI Chat
 * Completions and Anthropic Messages bodies.
 *
 * <pre>{@code
 * try (ScriptedLlmServer server = ScriptedLlmServer.start()) {
 *   server.enqueue(ScriptedLlmServer.OPENAI_PATH, Reply.json(ScriptedLlmServer.openAiText("hello")));
 *   server.enqueue(ScriptedLlmServer.OPENAI_PATH, Reply.json(429, openAiError("rate_limit_exceeded", "slow down"))
 *       .withHeader("Retry-After", "2"));
 *   var provider = new OpenAiProvider(new ProviderConnection(server.openAiBaseUrl(), "sk-test", timeout, "gpt-x"));
 *   ...
 *   assertThat(server.requests().get(0).json().path("model").asText()).isEqualTo("gpt-x");
 * }
 * }</pre>
 *
 * <p>Each request to a path takes the next reply queued for that path; when none is queued, the
 * default responder answers (by default an HTTP 418 saying nothing was scripted, which providers
 * map to a non-retryable {@code invalid_request}, so a missing script fails fast). Every request is
 * recorded, whatever the answer. Replies with a {@link Reply#delay() delay} wait on the server side
 * before sending anything, so a client timeout can be tested without sleeping in the test.
 * Thread-safe: any number of concurrent calls.
 */
public final class ScriptedLlmServer implements AutoCloseable {
  static {
    // Answers go out at once instead of waiting for the client's delayed ACK (about 40 ms per
    // call).
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  /** Where {@link OpenAiProvider} POSTs with base URL {@link #openAiBaseUrl()}. */
  public static final String OPENAI_PATH = "/v1/chat/completions";

  /** Where {@link AnthropicProvider} POSTs with base URL {@link #anthropicBaseUrl()}. */
  public static final String ANTHROPIC_PATH = "/v1/messages";

  /** Token counts the body helpers report: OpenAI prompt/completion, Anthropic input/output. */
  public static final int INPUT_TOKENS = 21;

  public static final int OUTPUT_TOKENS = 8;

  /** The model name the body helpers report. */
  public static final String MODEL = "scripted-model-1";

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final LoopbackHttpServer server;
  private final ScheduledExecutorService delays =
      Executors.newScheduledThreadPool(
          2,
          r -> {
            Thread t = new Thread(r, "scripted-llm-delay");
            t.setDaemon(true);
            return t;
          });
  private final Map<String, Queue<Reply>> scripts = new ConcurrentHashMap<>();
  private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
  private volatile Function<RecordedRequest, Reply> defaultResponder =
      request ->
          Reply.json(
              418,
              "{\"error\":{\"message\":\"ScriptedLlmServer: nothing scripted for "
                  + request.path()
                  + "\"}}");

  private ScriptedLlmServer() {
    server = LoopbackHttpServer.start("scripted-llm", this::handle);
  }

  /** Starts a server on a free port of 127.0.0.1. */
  public static ScriptedLlmServer start() {
    return new ScriptedLlmServer();
  }

  public int port() {
    return server.port();
  }

  /** {@code http://127.0.0.1:PORT/v1}: the base URL for {@link OpenAiProvider}. */
  public URI openAiBaseUrl() {
    return URI.create("http://127.0.0.1:" + port() + "/v1");
  }

  /** {@code http://127.0.0.1:PORT}: the base URL for {@link AnthropicProvider}. */
  public URI anthropicBaseUrl() {
    return URI.create("http://127.0.0.1:" + port());
  }

  /** A base URL on a local port nobody listens on: calls to it are refused. */
  public static URI refusingBaseUrl() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/v1");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Queues replies for {@code path}; they are used once each, in order. */
  public ScriptedLlmServer enqueue(String path, Reply... replies) {
    Queue<Reply> queue = scripts.computeIfAbsent(path, p -> new ConcurrentLinkedQueue<>());
    for (Reply reply : replies) {
      queue.add(Objects.requireNonNull(reply, "reply"));
    }
    return this;
  }

  /**
   * Answers requests for which nothing is queued (e.g. a steady "ok" for a load test, or a reply
   * per request).
   */
  public ScriptedLlmServer setDefault(Function<RecordedRequest, Reply> responder) {
    this.defaultResponder = Objects.requireNonNull(responder, "responder");
    return this;
  }

  /** Every request received so far, in arrival order. */
  public List<RecordedRequest> requests() {
    return List.copyOf(requests);
  }

  /** The last request received; fails when there was none. */
  public RecordedRequest lastRequest() {
    if (requests.isEmpty()) {
      throw new IllegalStateException("no request received");
    }
    return requests.get(requests.size() - 1);
  }

  /** How many requests arrived, on any path. */
  public int callCount() {
    return requests.size();
  }

  /** Stops at once, dropping delayed replies still waiting. */
  @Override
  public void close() {
    server.close();
    delays.shutdownNow();
  }

  private void handle(HttpExchange exchange) {
    try {
      byte[] raw;
      try (InputStream in = exchange.getRequestBody()) {
        raw = in.readAllBytes();
      }
      String body = new String(raw, StandardCharsets.UTF_8);
      JsonNode json;
      try {
        json = body.isBlank() ? null : Json.tree(body);
      } catch (IllegalArgumentException notJson) {
        json = null;
      }
      Map<String, List<String>> headers = new LinkedHashMap<>();
      exchange
          .getRequestHeaders()
          .forEach(
              (name, values) -> headers.put(name.toLowerCase(Locale.ROOT), List.copyOf(values)));
      RecordedRequest request =
          new RecordedRequest(
              exchange.getRequestMethod(),
              exchange.getRequestURI().getPath(),
              exchange.getRequestURI().getRawQuery(),
              Map.copyOf(headers),
              body,
              json);
      requests.add(request);

      Queue<Reply> queue = scripts.get(request.path());
      Reply scripted = queue == null ? null : queue.poll();
      Reply reply;
      try {
        reply = scripted != null ? scripted : defaultResponder.apply(request);
      } catch (RuntimeException e) {
        reply =
            Reply.json(
                500,
                "{\"error\":{\"message\":\"ScriptedLlmServer: default responder failed: "
                    + e.getClass().getSimpleName()
                    + "\"}}");
      }
      if (!reply.delay().isZero()) {
        // The handler returns at once and the answer goes out later: no thread is held for the
        // delay.
        Reply delayed = reply;
        delays.schedule(
            () -> send(exchange, delayed), reply.delay().toMillis(), TimeUnit.MILLISECONDS);
        return;
      }
      send(exchange, reply);
    } catch (IOException e) {
      exchange.close(); // the client went away: nothing to answer
    }
  }

  private static void send(HttpExchange exchange, Reply reply) {
    try {
      byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
      reply.headers().forEach((name, value) -> exchange.getResponseHeaders().add(name, value));
      exchange.sendResponseHeaders(reply.status(), bytes.length == 0 ? -1 : bytes.length);
      if (bytes.length > 0) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(bytes);
        }
      }
    } catch (IOException e) {
      // the client went away (e.g. it timed out first): nothing to answer
    } finally {
      exchange.close();
    }
  }

  /**
   * One scripted answer.
   *
   * @param headers response headers (e.g. {@code Retry-After}, {@code content-type})
   * @param delay how long the server waits before answering; zero for none
   */
  public record Reply(int status, Map<String, String> headers, String body, Duration delay) {
    public Reply {
      headers = Map.copyOf(headers);
      Objects.requireNonNull(body, "body");
      Objects.requireNonNull(delay, "delay");
    }

    /** HTTP 200 with a JSON body. */
    public static Reply json(JsonNode body) {
      return json(200, body.toString());
    }

    /** A JSON body ({@code content-type: application/json}) with the given status. */
    public static Reply json(int status, JsonNode body) {
      return json(status, body.toString());
    }

    /**
     * A JSON body ({@code content-type: application/json}) with the given status; the text is sent
     * as is.
     */
    public static Reply json(int status, String body) {
      return raw(status, "application/json", body);
    }

    /** Any body with any content type, e.g. an HTML error page from a proxy. */
    public static Reply raw(int status, String contentType, String body) {
      return new Reply(status, Map.of("content-type", contentType), body, Duration.ZERO);
    }

    public Reply withHeader(String name, String value) {
      Map<String, String> more = new LinkedHashMap<>(headers);
      more.put(name, value);
      return new Reply(status, more, body, delay);
    }

    public Reply withDelay(Duration delay) {
      return new Reply(status, headers, body, delay);
    }
  }

  /**
   * A request as the server received it.
   *
   * @param path the URI path, e.g. {@link #OPENAI_PATH}
   * @param query the raw query, or null
   * @param headers by lower-case name
   * @param json the body parsed as JSON, or null when it is not JSON
   */
  public record RecordedRequest(
      String method,
      String path,
      String query,
      Map<String, List<String>> headers,
      String body,
      JsonNode json) {
    /** The first value of a header (any case), or null. */
    public String header(String name) {
      List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
      return values == null || values.isEmpty() ? null : values.get(0);
    }
  }

  // ---- Reading the conversation a script is sent (OpenAI Chat Completions requests) ----

  /** The assistant turns the conversation of {@code request} already has. */
  public static int assistantTurns(JsonNode request) {
    int turns = 0;
    for (JsonNode m : request.path("messages")) {
      if ("assistant".equals(m.path("role").asText())) {
        turns++;
      }
    }
    return turns;
  }

  /**
   * The goal's id, from the first user message {@code Goal <id>: ...} (the tests' convention for
   * goal texts); {@code "?"} when there is none.
   */
  public static String goalIdOf(JsonNode request) {
    for (JsonNode m : request.path("messages")) {
      String content = m.path("content").asText();
      if ("user".equals(m.path("role").asText()) && content.startsWith("Goal ")) {
        return content.split("[ :]")[1];
      }
    }
    return "?";
  }

  /**
   * The content of the tool messages after the conversation's last assistant turn (the results the
   * LLM is shown now), an MCP result as its {@code text} alone; anything else (a refusal, an error,
   * another tool's JSON) as sent.
   */
  public static List<String> lastToolResults(JsonNode request) {
    List<String> out = new java.util.ArrayList<>();
    for (JsonNode m : request.path("messages")) {
      if ("assistant".equals(m.path("role").asText())) {
        out.clear();
      } else if ("tool".equals(m.path("role").asText())) {
        String content = m.path("content").asText();
        JsonNode text = content.startsWith("{") ? Json.tree(content).path("text") : null;
        out.add(text != null && text.isTextual() ? text.asText() : content);
      }
    }
    return out;
  }

  // ---- OpenAI Chat Completions bodies ----

  /** A {@code chat.completion} answering {@code content}, finish_reason stop, with usage. */
  public static ObjectNode openAiText(String content) {
    ObjectNode body = openAiEnvelope();
    ObjectNode choice = ((ArrayNode) body.get("choices")).addObject();
    choice.put("index", 0);
    choice.putObject("message").put("role", "assistant").put("content", content).putNull("refusal");
    choice.put("finish_reason", "stop");
    return body;
  }

  /**
   * A {@code chat.completion} whose answer is tool calls (arguments as JSON strings), finish_reason
   * tool_calls.
   */
  public static ObjectNode openAiToolCalls(ToolCallRequest... calls) {
    ObjectNode body = openAiEnvelope();
    ObjectNode choice = ((ArrayNode) body.get("choices")).addObject();
    choice.put("index", 0);
    ObjectNode message = choice.putObject("message").put("role", "assistant").putNull("content");
    ArrayNode toolCalls = message.putArray("tool_calls");
    for (ToolCallRequest call : calls) {
      toolCalls
          .addObject()
          .put("id", call.id())
          .put("type", "function")
          .putObject("function")
          .put("name", call.name())
          .put("arguments", call.arguments().toString());
    }
    message.putNull("refusal");
    choice.put("finish_reason", "tool_calls");
    return body;
  }

  /** A {@code chat.completion} whose message is a refusal (structured outputs). */
  public static ObjectNode openAiRefusal(String refusal) {
    ObjectNode body = openAiText(null);
    ((ObjectNode) body.get("choices").get(0).get("message")).put("refusal", refusal);
    return body;
  }

  /** An OpenAI error body: {@code {"error": {"message", "type", "code"}}}. */
  public static ObjectNode openAiError(String code, String message) {
    ObjectNode body = NODES.objectNode();
    body.putObject("error")
        .put("message", message)
        .put("type", "invalid_request_error")
        .put("code", code);
    return body;
  }

  private static ObjectNode openAiEnvelope() {
    ObjectNode body = NODES.objectNode();
    body.put("id", "chatcmpl-scripted")
        .put("object", "chat.completion")
        .put("created", 1_764_300_000L)
        .put("model", MODEL);
    body.putArray("choices");
    body.putObject("usage")
        .put("prompt_tokens", INPUT_TOKENS)
        .put("completion_tokens", OUTPUT_TOKENS)
        .put("total_tokens", INPUT_TOKENS + OUTPUT_TOKENS);
    return body;
  }

  // ---- Anthropic Messages bodies ----

  /** A {@code message} answering {@code text}, stop_reason end_turn, with usage. */
  public static ObjectNode anthropicText(String text) {
    ObjectNode body = anthropicEnvelope("end_turn");
    ((ArrayNode) body.get("content")).addObject().put("type", "text").put("text", text);
    return body;
  }

  /**
   * A {@code message} with an optional text block then one {@code tool_use} block per call,
   * stop_reason tool_use.
   */
  public static ObjectNode anthropicToolUse(String text, ToolCallRequest... calls) {
    ObjectNode body = anthropicEnvelope("tool_use");
    ArrayNode content = ((ArrayNode) body.get("content"));
    if (text != null) {
      content.addObject().put("type", "text").put("text", text);
    }
    for (ToolCallRequest call : calls) {
      content
          .addObject()
          .put("type", "tool_use")
          .put("id", call.id())
          .put("name", call.name())
          .set("input", call.arguments());
    }
    return body;
  }

  /** An Anthropic error body: {@code {"type": "error", "error": {"type", "message"}}}. */
  public static ObjectNode anthropicError(String type, String message) {
    ObjectNode body = NODES.objectNode().put("type", "error");
    body.putObject("error").put("type", type).put("message", message);
    return body;
  }

  private static ObjectNode anthropicEnvelope(String stopReason) {
    ObjectNode body = NODES.objectNode();
    body.put("id", "msg_scripted")
        .put("type", "message")
        .put("role", "assistant")
        .put("model", MODEL);
    body.putArray("content");
    body.put("stop_reason", stopReason).putNull("stop_sequence");
    body.putObject("usage").put("input_tokens", INPUT_TOKENS).put("output_tokens", OUTPUT_TOKENS);
    return body;
  }
}
