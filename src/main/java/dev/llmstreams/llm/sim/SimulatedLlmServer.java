package dev.llmstreams.llm.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.llmstreams.events.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A SIMULATED OpenAI-compatible LLM server: not an LLM, it answers the Chat Completions wire format
 * with canned answers after a configured latency, and injects faults (500, 429, malformed bodies,
 * hangs) at configured rates. For benchmarks and for trying llm-streams without an LLM. Every reply
 * carries {@code x-llmstreams-simulator: true} and the model name {@code simulated} unless
 * configured otherwise.
 *
 * <p>Routes: {@code POST /v1/chat/completions}, {@code GET /v1/models}, {@code GET /health}, {@code
 * GET /stats}, {@code GET|POST /admin/faults} (the fault rates in force; POST switches them while
 * the server runs).
 *
 * <p>Slow calls hold no thread: the handler reads the request, draws the outcome and returns; the
 * reply is written later from a scheduler. So thousands of calls can sleep at once and the
 * simulator is never the bottleneck of a throughput benchmark. Faults are drawn per call, in
 * arrival order, from one seeded generator: the same seed and rates give the same outcome sequence.
 */
public final class SimulatedLlmServer implements AutoCloseable {
  /** Header on every reply, so nobody mistakes the simulator for an LLM. */
  public static final String SIMULATOR_HEADER = "x-llmstreams-simulator";

  public static final String DEFAULT_MODEL = "simulated";

  /**
   * The request header naming the caller's request id (OpenAI's own), counted to find repeated
   * calls.
   */
  public static final String REQUEST_ID_HEADER = "X-Client-Request-Id";

  /** A hanging call is closed, unanswered, after this long (or when the server stops). */
  public static final Duration MAX_HANG = Duration.ofMinutes(5);

  /** Words of a text answer when the request sets no {@code max_tokens}. */
  public static final int DEFAULT_WORDS = 16;

  static final String FINAL_ANSWER = "simulated final answer";
  static final String CALCULATOR = "calculator";
  static final String CALCULATOR_EXPRESSION = "1+2";

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  static {
    // The JDK server closes keep-alive connections beyond 200 idle ones; benchmarks hold up to 256
    // and more.
    // Read once per JVM when the first HttpServer is made, so only effective if nothing set it
    // before.
    if (System.getProperty("sun.net.httpserver.maxIdleConnections") == null) {
      System.setProperty("sun.net.httpserver.maxIdleConnections", "4096");
    }
    // Without TCP_NODELAY the JDK server's separate header and body writes meet the client's
    // delayed ACK:
    // about 40 ms more per call, measured here (258 → 309 calls/s at 64 × 200 ms).
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  /**
   * How the simulator behaves.
   *
   * @param host address to bind, loopback by default
   * @param port 0 for a free port
   * @param latency time before each answer (faults included, hangs excepted)
   * @param jitter the latency varies uniformly within {@code latency ± jitter} (never below 0)
   * @param errorRate share of calls answered 500
   * @param rateLimitRate share of calls answered 429 with {@code Retry-After: 1}
   * @param malformedRate share of calls answered 200 with a body that is not JSON
   * @param hangRate share of calls never answered (closed after {@link #MAX_HANG} or on stop)
   * @param seed of the draws of faults and jitter
   * @param model the {@code model} field of answers
   * @param toolSteps tool turns before the final answer when tools are offered: a conversation
   *     ending in a tool result gets another tool call while it holds fewer assistant tool-call
   *     messages than this, else the final answer (one ending in a user message always gets a tool
   *     call). 1 by default; a benchmark of multi-step goals sets more
   */
  public record Settings(
      String host,
      int port,
      Duration latency,
      Duration jitter,
      double errorRate,
      double rateLimitRate,
      double malformedRate,
      double hangRate,
      long seed,
      String model,
      int toolSteps) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final long DEFAULT_SEED = 1L;
    public static final int DEFAULT_TOOL_STEPS = 1;

    public Settings {
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(latency, "latency");
      Objects.requireNonNull(jitter, "jitter");
      Objects.requireNonNull(model, "model");
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port must be within 0..65535, was " + port);
      }
      if (latency.isNegative() || jitter.isNegative()) {
        throw new IllegalArgumentException("latency and jitter must not be negative");
      }
      rate("error rate", errorRate);
      rate("rate-limit rate", rateLimitRate);
      rate("malformed rate", malformedRate);
      rate("hang rate", hangRate);
      if (errorRate + rateLimitRate + malformedRate + hangRate > 1.0 + 1e-9) {
        throw new IllegalArgumentException("the fault rates add up to more than 1");
      }
      if (toolSteps < 0) {
        throw new IllegalArgumentException("tool steps must not be negative, was " + toolSteps);
      }
    }

    /** One tool turn, as before tool steps could be set. */
    public Settings(
        String host,
        int port,
        Duration latency,
        Duration jitter,
        double errorRate,
        double rateLimitRate,
        double malformedRate,
        double hangRate,
        long seed,
        String model) {
      this(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          DEFAULT_TOOL_STEPS);
    }

    static void rate(String name, double value) {
      if (!(value >= 0 && value <= 1)) {
        throw new IllegalArgumentException(name + " must be within 0..1, was " + value);
      }
    }

    /** Loopback, a free port, no latency, no faults, seed 1, model {@code simulated}. */
    public static Settings defaults() {
      return new Settings(
          DEFAULT_HOST,
          0,
          Duration.ZERO,
          Duration.ZERO,
          0,
          0,
          0,
          0,
          DEFAULT_SEED,
          DEFAULT_MODEL,
          DEFAULT_TOOL_STEPS);
    }

    public Settings withHost(String host) {
      return new Settings(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          toolSteps);
    }

    public Settings withPort(int port) {
      return new Settings(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          toolSteps);
    }

    public Settings withLatency(Duration latency) {
      return new Settings(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          toolSteps);
    }

    public Settings withJitter(Duration jitter) {
      return new Settings(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          toolSteps);
    }

    public Settings withErrorRate(double errorRate) {
      return new Settings(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          toolSteps);
    }

    public Settings withRateLimitRate(double rateLimitRate) {
      return new Settings(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          toolSteps);
    }

    public Settings withMalformedRate(double malformedRate) {
      return new Settings(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          toolSteps);
    }

    public Settings withHangRate(double hangRate) {
      return new Settings(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          toolSteps);
    }

    public Settings withSeed(long seed) {
      return new Settings(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          toolSteps);
    }

    public Settings withModel(String model) {
      return new Settings(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          toolSteps);
    }

    public Settings withToolSteps(int toolSteps) {
      return new Settings(
          host,
          port,
          latency,
          jitter,
          errorRate,
          rateLimitRate,
          malformedRate,
          hangRate,
          seed,
          model,
          toolSteps);
    }
  }

  /** What the simulator drew for one call. */
  public enum Outcome {
    OK,
    ERROR,
    RATE_LIMITED,
    MALFORMED,
    HANG,
    ENDLESS,
    BAD_TOOL_CALL
  }

  /**
   * The fault rates in force, switchable while the server runs ({@link #setFaults}): a storm on,
   * then off.
   *
   * @param endlessRate share of calls answered 200 whose body never ends: a byte every {@link
   *     #ENDLESS_BYTE_EVERY} until the client gives up (closed after {@link #MAX_HANG} or on stop)
   * @param badToolCallRate share of calls answered 200 with a tool call whose arguments are not
   *     JSON (when the request offers tools; a text answer otherwise)
   * @param retryAfter the {@code Retry-After} of 429 answers, whole seconds
   */
  public record Faults(
      double errorRate,
      double rateLimitRate,
      double malformedRate,
      double hangRate,
      double endlessRate,
      double badToolCallRate,
      Duration retryAfter) {
    public Faults {
      Objects.requireNonNull(retryAfter, "retryAfter");
      Settings.rate("error rate", errorRate);
      Settings.rate("rate-limit rate", rateLimitRate);
      Settings.rate("malformed rate", malformedRate);
      Settings.rate("hang rate", hangRate);
      Settings.rate("endless rate", endlessRate);
      Settings.rate("bad tool call rate", badToolCallRate);
      if (errorRate + rateLimitRate + malformedRate + hangRate + endlessRate + badToolCallRate
          > 1.0 + 1e-9) {
        throw new IllegalArgumentException("the fault rates add up to more than 1");
      }
      if (retryAfter.isNegative() || retryAfter.toMillis() % 1000 != 0) {
        throw new IllegalArgumentException("Retry-After is whole seconds, was " + retryAfter);
      }
    }

    /** No fault at all; 429s (if switched on later) say Retry-After: 1. */
    public static Faults none() {
      return new Faults(0, 0, 0, 0, 0, 0, Duration.ofSeconds(1));
    }

    public Faults withErrorRate(double r) {
      return new Faults(
          r, rateLimitRate, malformedRate, hangRate, endlessRate, badToolCallRate, retryAfter);
    }

    public Faults withRateLimitRate(double r) {
      return new Faults(
          errorRate, r, malformedRate, hangRate, endlessRate, badToolCallRate, retryAfter);
    }

    public Faults withMalformedRate(double r) {
      return new Faults(
          errorRate, rateLimitRate, r, hangRate, endlessRate, badToolCallRate, retryAfter);
    }

    public Faults withHangRate(double r) {
      return new Faults(
          errorRate, rateLimitRate, malformedRate, r, endlessRate, badToolCallRate, retryAfter);
    }

    public Faults withEndlessRate(double r) {
      return new Faults(
          errorRate, rateLimitRate, malformedRate, hangRate, r, badToolCallRate, retryAfter);
    }

    public Faults withBadToolCallRate(double r) {
      return new Faults(
          errorRate, rateLimitRate, malformedRate, hangRate, endlessRate, r, retryAfter);
    }

    public Faults withRetryAfter(Duration d) {
      return new Faults(
          errorRate, rateLimitRate, malformedRate, hangRate, endlessRate, badToolCallRate, d);
    }
  }

  /** How often an endless answer sends its next byte. */
  public static final Duration ENDLESS_BYTE_EVERY = Duration.ofMillis(100);

  /**
   * Counters since start. {@code calls} counts chat completion requests that were well formed (the
   * benchmark's {@code provider_calls}); each got exactly one outcome, drawn on arrival. Bad
   * requests (400) are counted apart. Tokens are those of the {@code ok} answers.
   */
  public record Stats(
      long calls,
      long ok,
      long errors,
      long rateLimited,
      long malformed,
      long hangs,
      long badRequests,
      int inFlight,
      int maxInFlight,
      long promptTokens,
      long completionTokens,
      long endless,
      long badToolCalls) {
    /** The {@code GET /stats} body. */
    public String toJson() {
      ObjectNode json =
          NODES
              .objectNode()
              .put("simulator", true)
              .put("calls", calls)
              .put("ok", ok)
              .put("error", errors)
              .put("rate_limited", rateLimited)
              .put("malformed", malformed)
              .put("hang", hangs)
              .put("endless", endless)
              .put("bad_tool_call", badToolCalls)
              .put("bad_request", badRequests)
              .put("in_flight", inFlight)
              .put("max_in_flight", maxInFlight)
              .put("prompt_tokens", promptTokens)
              .put("completion_tokens", completionTokens);
      return json.toString();
    }
  }

  private final Settings settings;
  private volatile Faults faults;
  private final Random random;
  private final AtomicLong calls = new AtomicLong();
  private final Map<Outcome, AtomicLong> outcomes = new ConcurrentHashMap<>();
  private final AtomicLong badRequests = new AtomicLong();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();
  private final AtomicLong promptTokens = new AtomicLong();
  private final AtomicLong completionTokens = new AtomicLong();

  /** Calls accepted and not answered yet (sleeping or hanging), so that stop can end them. */
  private final Set<Pending> pending = ConcurrentHashMap.newKeySet();

  private final AtomicBoolean stopped = new AtomicBoolean();

  /**
   * Calls per request id (the client's X-Client-Request-Id): a second call of one id is a repeat
   * the caller paid twice.
   */
  private final Map<String, AtomicInteger> callsByRequestId = new ConcurrentHashMap<>();

  private volatile ToolScript toolScript = (tool, messages) -> null;

  private HttpServer server;
  private ExecutorService readers;
  private ScheduledThreadPoolExecutor scheduler;

  public SimulatedLlmServer(Settings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.random = new Random(settings.seed());
    this.faults =
        new Faults(
            settings.errorRate(),
            settings.rateLimitRate(),
            settings.malformedRate(),
            settings.hangRate(),
            0,
            0,
            Duration.ofSeconds(1));
    for (Outcome outcome : Outcome.values()) {
      outcomes.put(outcome, new AtomicLong());
    }
  }

  /**
   * Binds and starts serving; returns this. Throws {@link BindException} with a clear message when
   * the port is taken.
   */
  public synchronized SimulatedLlmServer start() throws IOException {
    if (server != null) {
      throw new IllegalStateException("already started");
    }
    try {
      server = HttpServer.create(new InetSocketAddress(settings.host(), settings.port()), 1024);
    } catch (BindException e) {
      throw new BindException(
          "port " + settings.port() + " on " + settings.host() + " is already in use");
    }
    // Reading a request and drawing its outcome takes microseconds; the waiting happens in the
    // scheduler.
    readers = Executors.newFixedThreadPool(32, daemons("sim-llm-http"));
    scheduler = new ScheduledThreadPoolExecutor(4, daemons("sim-llm-reply"));
    scheduler.setRemoveOnCancelPolicy(true);
    server.setExecutor(readers);
    server.createContext("/", this::route);
    server.start();
    return this;
  }

  /**
   * Ends hanging and sleeping calls (their connections are closed unanswered), releases the port.
   * Idempotent.
   */
  public synchronized void stop() {
    if (server == null || !stopped.compareAndSet(false, true)) {
      return;
    }
    scheduler.shutdownNow();
    for (Pending call : List.copyOf(pending)) {
      call.abandon();
    }
    server.stop(0);
    readers.shutdownNow();
  }

  @Override
  public void close() {
    stop();
  }

  public Settings settings() {
    return settings;
  }

  /** The fault rates in force now. */
  public Faults faults() {
    return faults;
  }

  /**
   * Switches the fault rates for the calls that arrive from now on (calls already drawn keep their
   * outcome).
   */
  public void setFaults(Faults faults) {
    this.faults = Objects.requireNonNull(faults, "faults");
  }

  /** The bound port (the free one chosen when the settings say 0). */
  public int port() {
    if (server == null) {
      throw new IllegalStateException("not started");
    }
    return server.getAddress().getPort();
  }

  /** The URL to configure as an OpenAI base URL, e.g. {@code http://127.0.0.1:8089/v1}. */
  public URI baseUrl() {
    String host = settings.host();
    try {
      if (InetAddress.getByName(host).isAnyLocalAddress()) {
        host = "127.0.0.1";
      }
      return new URI("http", null, host, port(), "/v1", null, null);
    } catch (IOException | URISyntaxException e) {
      throw new IllegalStateException("no URL for host " + host, e);
    }
  }

  /**
   * Arguments of the simulated tool calls, chosen by the caller (a test or the chaos command) from
   * the tool's name and the conversation; null from the script keeps the default (the simplest
   * schema-valid value), and an array asks for that many parallel calls of the tool in one turn,
   * one per element.
   */
  @FunctionalInterface
  public interface ToolScript {
    JsonNode arguments(String tool, JsonNode messages);
  }

  /** Sets the tool-call script; returns this. */
  public SimulatedLlmServer withToolScript(ToolScript script) {
    this.toolScript = Objects.requireNonNull(script, "script");
    return this;
  }

  /** Well-formed calls that carried a request id seen on an earlier call, so far. */
  public long repeatedRequestIdCalls() {
    return callsByRequestId.values().stream().mapToLong(n -> Math.max(0, n.get() - 1)).sum();
  }

  /** The request ids called more than once, with their number of calls. */
  public Map<String, Integer> repeatedRequestIds() {
    Map<String, Integer> out = new java.util.TreeMap<>();
    callsByRequestId.forEach(
        (id, n) -> {
          if (n.get() > 1) {
            out.put(id, n.get());
          }
        });
    return out;
  }

  /** Well-formed calls that carried a request id. */
  public long callsWithRequestId() {
    return callsByRequestId.values().stream().mapToLong(AtomicInteger::get).sum();
  }

  public Stats stats() {
    return new Stats(
        calls.get(),
        count(Outcome.OK),
        count(Outcome.ERROR),
        count(Outcome.RATE_LIMITED),
        count(Outcome.MALFORMED),
        count(Outcome.HANG),
        badRequests.get(),
        inFlight.get(),
        maxInFlight.get(),
        promptTokens.get(),
        completionTokens.get(),
        count(Outcome.ENDLESS),
        count(Outcome.BAD_TOOL_CALL));
  }

  private long count(Outcome outcome) {
    return outcomes.get(outcome).get();
  }

  // ---- HTTP ----

  private record Reply(int status, String contentType, byte[] body, Map<String, String> headers) {
    static Reply json(int status, JsonNode body) {
      return new Reply(
          status, "application/json", body.toString().getBytes(StandardCharsets.UTF_8), Map.of());
    }

    static Reply error(int status, String type, String code, String message) {
      ObjectNode error = NODES.objectNode();
      error
          .putObject("error")
          .put("message", message)
          .put("type", type)
          .putNull("param")
          .put("code", code);
      return json(status, error);
    }
  }

  private void route(HttpExchange exchange) throws IOException {
    try {
      String path = exchange.getRequestURI().getPath();
      String method = exchange.getRequestMethod();
      switch (path) {
        case "/v1/chat/completions":
          if (!"POST".equals(method)) {
            send(exchange, Reply.error(405, "invalid_request_error", null, "use POST"));
          } else {
            chat(exchange);
          }
          return;
        case "/v1/models":
          send(exchange, get(method, this::models));
          return;
        case "/health":
          send(
              exchange,
              get(
                  method,
                  () ->
                      Reply.json(
                          200, NODES.objectNode().put("status", "ok").put("simulator", true))));
          return;
        case "/admin/faults":
          send(exchange, faultsRoute(exchange));
          return;
        case "/stats":
          send(
              exchange,
              get(
                  method,
                  () ->
                      new Reply(
                          200,
                          "application/json",
                          stats().toJson().getBytes(StandardCharsets.UTF_8),
                          Map.of())));
          return;
        default:
          send(
              exchange,
              Reply.error(404, "invalid_request_error", null, "the simulator serves no " + path));
      }
    } catch (RuntimeException e) {
      send(exchange, Reply.error(500, "server_error", null, "simulator bug: " + e));
    }
  }

  /**
   * GET: the fault rates in force; POST a JSON object with any of the same fields: switch them now.
   */
  private Reply faultsRoute(HttpExchange exchange) throws IOException {
    if ("POST".equals(exchange.getRequestMethod())) {
      Faults f = faults;
      try {
        JsonNode body = Json.reader().readTree(exchange.getRequestBody().readAllBytes());
        if (body == null || !body.isObject()) {
          return Reply.error(
              400, "invalid_request_error", null, "send a JSON object of fault rates");
        }
        setFaults(
            new Faults(
                body.path("error_rate").asDouble(f.errorRate()),
                body.path("rate_limit_rate").asDouble(f.rateLimitRate()),
                body.path("malformed_rate").asDouble(f.malformedRate()),
                body.path("hang_rate").asDouble(f.hangRate()),
                body.path("endless_rate").asDouble(f.endlessRate()),
                body.path("bad_tool_call_rate").asDouble(f.badToolCallRate()),
                Duration.ofSeconds(body.path("retry_after_s").asLong(f.retryAfter().toSeconds()))));
      } catch (JsonProcessingException | IllegalArgumentException e) {
        return Reply.error(
            400, "invalid_request_error", null, "cannot set the faults: " + e.getMessage());
      }
    } else if (!"GET".equals(exchange.getRequestMethod())) {
      return Reply.error(405, "invalid_request_error", null, "use GET or POST");
    }
    Faults f = faults;
    return Reply.json(
        200,
        NODES
            .objectNode()
            .put("error_rate", f.errorRate())
            .put("rate_limit_rate", f.rateLimitRate())
            .put("malformed_rate", f.malformedRate())
            .put("hang_rate", f.hangRate())
            .put("endless_rate", f.endlessRate())
            .put("bad_tool_call_rate", f.badToolCallRate())
            .put("retry_after_s", f.retryAfter().toSeconds()));
  }

  private static Reply get(String method, Supplier<Reply> reply) {
    return "GET".equals(method)
        ? reply.get()
        : Reply.error(405, "invalid_request_error", null, "use GET");
  }

  private Reply models() {
    ObjectNode list = NODES.objectNode().put("object", "list");
    list.putArray("data")
        .addObject()
        .put("id", settings.model())
        .put("object", "model")
        .put("created", 0)
        .put("owned_by", "llm-streams-simulator");
    return Reply.json(200, list);
  }

  private void chat(HttpExchange exchange) throws IOException {
    JsonNode request;
    try {
      request = Json.reader().readTree(exchange.getRequestBody().readAllBytes());
    } catch (JsonProcessingException e) {
      badRequests.incrementAndGet();
      send(
          exchange,
          Reply.error(
              400,
              "invalid_request_error",
              null,
              "the body is not JSON: " + e.getOriginalMessage()));
      return;
    }
    String problem = problem(request);
    if (problem != null) {
      badRequests.incrementAndGet();
      send(exchange, Reply.error(400, "invalid_request_error", null, problem));
      return;
    }
    String requestId = exchange.getRequestHeaders().getFirst(REQUEST_ID_HEADER);
    if (requestId != null) {
      callsByRequestId.computeIfAbsent(requestId, id -> new AtomicInteger()).incrementAndGet();
    }
    long number;
    Outcome outcome;
    long delayNanos;
    Faults now = faults;
    synchronized (random) {
      // Two draws per call whatever the settings, so that the sequence only depends on the seed and
      // arrival order.
      double fault = random.nextDouble();
      double jitter = random.nextDouble() * 2 - 1;
      number = calls.incrementAndGet();
      outcome = outcome(now, fault);
      delayNanos =
          Math.max(0, settings.latency().toNanos() + (long) (jitter * settings.jitter().toNanos()));
    }
    outcomes.get(outcome).incrementAndGet();
    Pending call = new Pending(exchange);
    if (outcome == Outcome.HANG) {
      call.later(null, MAX_HANG.toNanos());
      return;
    }
    if (outcome == Outcome.ENDLESS) {
      call.endless(delayNanos);
      return;
    }
    Reply reply =
        switch (outcome) {
          case ERROR -> Reply.error(500, "server_error", null, "simulated server error");
          case RATE_LIMITED ->
              new Reply(
                  429,
                  "application/json",
                  Reply.error(429, "requests", "rate_limit_exceeded", "simulated rate limit")
                      .body(),
                  Map.of("Retry-After", Long.toString(now.retryAfter().toSeconds())));
          case BAD_TOOL_CALL -> badToolCall(request, number);
          case MALFORMED ->
              new Reply(
                  200,
                  "application/json",
                  ("{\"id\": \"chatcmpl-sim-"
                          + number
                          + "\", \"object\": \"chat.completion\", \"choices\": [{\"mess")
                      .getBytes(StandardCharsets.UTF_8),
                  Map.of());
          default -> answer(request, number);
        };
    call.later(reply, delayNanos);
  }

  private static Outcome outcome(Faults faults, double draw) {
    double bound = faults.errorRate();
    if (draw < bound) {
      return Outcome.ERROR;
    }
    bound += faults.rateLimitRate();
    if (draw < bound) {
      return Outcome.RATE_LIMITED;
    }
    bound += faults.malformedRate();
    if (draw < bound) {
      return Outcome.MALFORMED;
    }
    bound += faults.hangRate();
    if (draw < bound) {
      return Outcome.HANG;
    }
    bound += faults.endlessRate();
    if (draw < bound) {
      return Outcome.ENDLESS;
    }
    bound += faults.badToolCallRate();
    return draw < bound ? Outcome.BAD_TOOL_CALL : Outcome.OK;
  }

  /** A tool call the model botched: the offered tool's name with arguments that are not JSON. */
  private Reply badToolCall(JsonNode request, long number) {
    JsonNode tool = chosenTool(request);
    if (tool == null) {
      return answer(request, number);
    }
    ObjectNode body =
        NODES
            .objectNode()
            .put("id", "chatcmpl-sim-" + number)
            .put("object", "chat.completion")
            .put("created", System.currentTimeMillis() / 1000)
            .put("model", settings.model());
    ObjectNode message =
        body.putArray("choices")
            .addObject()
            .put("index", 0)
            .put("finish_reason", "tool_calls")
            .putObject("message")
            .put("role", "assistant")
            .putNull("content");
    message
        .putArray("tool_calls")
        .addObject()
        .put("id", "call_sim_" + number)
        .put("type", "function")
        .putObject("function")
        .put("name", tool.path("function").path("name").asText())
        .put("arguments", "{\"expression\": 1+2");
    body.putObject("usage")
        .put("prompt_tokens", 1)
        .put("completion_tokens", 1)
        .put("total_tokens", 2);
    return Reply.json(200, body);
  }

  private static String problem(JsonNode request) {
    if (!request.isObject()) {
      return "the body is not a JSON object";
    }
    if (!request.path("messages").isArray() || request.get("messages").isEmpty()) {
      return "'messages' must be a non-empty array";
    }
    if (request.path("stream").asBoolean(false)) {
      return "the simulator does not stream; send stream=false";
    }
    return null;
  }

  // ---- answers ----

  private Reply answer(JsonNode request, long number) {
    JsonNode messages = request.get("messages");
    JsonNode last = messages.get(messages.size() - 1);
    ObjectNode message = NODES.objectNode().put("role", "assistant");
    String finishReason;
    String generated;
    JsonNode tool = chosenTool(request);
    // A new user turn always gets a tool call (as with one tool step); a tool result gets another
    // one until the
    // conversation holds toolSteps tool-call turns, then the final answer.
    boolean callTool =
        !"tool".equals(last.path("role").asText())
            || toolCallTurns(messages) < settings.toolSteps();
    if (tool != null && callTool) {
      JsonNode function = tool.path("function");
      JsonNode scripted = toolScript.arguments(function.path("name").asText(), messages);
      JsonNode each = scripted != null ? scripted : arguments(function);
      // An array from the script: that many parallel calls of the tool in this one turn.
      List<JsonNode> argumentsOfCalls = new ArrayList<>();
      if (each.isArray()) {
        each.forEach(argumentsOfCalls::add);
      } else {
        argumentsOfCalls.add(each);
      }
      message.putNull("content");
      ArrayNode calls = message.putArray("tool_calls");
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < argumentsOfCalls.size(); i++) {
        String arguments = argumentsOfCalls.get(i).toString();
        ObjectNode call =
            calls
                .addObject()
                .put("id", "call_sim_" + number + (i == 0 ? "" : "_" + i))
                .put("type", "function");
        call.putObject("function")
            .put("name", function.path("name").asText())
            .put("arguments", arguments);
        text.append(function.path("name").asText()).append(arguments);
      }
      finishReason = "tool_calls";
      generated = text.toString();
    } else {
      if (tool != null) {
        generated = FINAL_ANSWER;
      } else if (request.path("response_format").has("json_schema")) {
        generated =
            MinimalValue.of(request.get("response_format").get("json_schema").path("schema"))
                .toString();
      } else if ("json_object".equals(request.path("response_format").path("type").asText())) {
        generated = "{\"answer\":\"simulated\"}";
      } else {
        generated = text(messages, words(request));
      }
      message.put("content", generated);
      finishReason = "stop";
    }
    long prompt = tokens(contentChars(messages));
    long completion = tokens(generated.length());
    promptTokens.addAndGet(prompt);
    completionTokens.addAndGet(completion);
    ObjectNode body =
        NODES
            .objectNode()
            .put("id", "chatcmpl-sim-" + number)
            .put("object", "chat.completion")
            .put("created", System.currentTimeMillis() / 1000)
            .put("model", settings.model())
            .put("system_fingerprint", "llm-streams-simulator");
    ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
    choice.set("message", message);
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason);
    body.putObject("usage")
        .put("prompt_tokens", prompt)
        .put("completion_tokens", completion)
        .put("total_tokens", prompt + completion);
    return Reply.json(200, body);
  }

  /** Assistant messages of the conversation that asked for tool calls. */
  static int toolCallTurns(JsonNode messages) {
    int turns = 0;
    for (JsonNode message : messages) {
      if ("assistant".equals(message.path("role").asText())
          && !message.path("tool_calls").isEmpty()) {
        turns++;
      }
    }
    return turns;
  }

  /**
   * The arguments of a simulated call: the simplest schema-valid value, except for the built-in
   * calculator, whose worker evaluates them: {@code "x"} is valid by its schema but fails as
   * arithmetic, and a failed call is not what a benchmark of goals wants to measure.
   */
  private static JsonNode arguments(JsonNode function) {
    if (CALCULATOR.equals(function.path("name").asText())) {
      return NODES.objectNode().put("expression", CALCULATOR_EXPRESSION);
    }
    return MinimalValue.of(function.path("parameters"));
  }

  /**
   * The tool to call: the one {@code tool_choice} names, else the first; none when there are no
   * tools or choice is none.
   */
  private static JsonNode chosenTool(JsonNode request) {
    JsonNode tools = request.path("tools");
    if (!tools.isArray()
        || tools.isEmpty()
        || "none".equals(request.path("tool_choice").asText())) {
      return null;
    }
    String named = request.path("tool_choice").path("function").path("name").asText(null);
    if (named != null) {
      for (JsonNode tool : tools) {
        if (named.equals(tool.path("function").path("name").asText())) {
          return tool;
        }
      }
    }
    return tools.get(0);
  }

  private static int words(JsonNode request) {
    JsonNode max =
        request.hasNonNull("max_completion_tokens")
            ? request.get("max_completion_tokens")
            : request.get("max_tokens");
    return max != null && max.canConvertToInt() ? Math.max(1, max.asInt() / 4) : DEFAULT_WORDS;
  }

  /**
   * "simulated summary" and then the words of the last user message, repeated as needed, {@code
   * count} words in all.
   */
  static String text(JsonNode messages, int count) {
    String user = "";
    for (int i = messages.size() - 1; i >= 0; i--) {
      if ("user".equals(messages.get(i).path("role").asText())) {
        user = content(messages.get(i).path("content"));
        break;
      }
    }
    List<String> source = new ArrayList<>(List.of("simulated", "summary"));
    List<String> userWords = new ArrayList<>();
    for (String word : user.trim().split("\\s+")) {
      if (!word.isEmpty()) {
        userWords.add(word);
      }
    }
    if (userWords.isEmpty()) {
      userWords.add("simulated");
    }
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < count; i++) {
      String word =
          i < source.size() ? source.get(i) : userWords.get((i - source.size()) % userWords.size());
      text.append(i == 0 ? "" : " ").append(word);
    }
    return text.toString();
  }

  private static long contentChars(JsonNode messages) {
    long chars = 0;
    for (JsonNode message : messages) {
      chars += content(message.path("content")).length();
    }
    return chars;
  }

  /** The text of a message content: a string, or an array of parts of which the text ones count. */
  private static String content(JsonNode content) {
    if (content.isTextual()) {
      return content.asText();
    }
    StringBuilder text = new StringBuilder();
    if (content.isArray()) {
      for (JsonNode part : content) {
        text.append(part.path("text").asText(""));
      }
    }
    return text.toString();
  }

  private static long tokens(long chars) {
    return (chars + 3) / 4;
  }

  // ---- replies, now or later ----

  /** A call accepted and not yet answered; answered or abandoned exactly once. */
  private final class Pending {
    private final HttpExchange exchange;
    private final AtomicBoolean done = new AtomicBoolean();

    Pending(HttpExchange exchange) {
      this.exchange = exchange;
      int now = inFlight.incrementAndGet();
      maxInFlight.accumulateAndGet(now, Math::max);
      pending.add(this);
    }

    /**
     * Answers {@code reply} after the delay; a null reply closes the connection unanswered (a
     * hang).
     */
    void later(Reply reply, long delayNanos) {
      Runnable finish = reply == null ? this::abandon : () -> answer(reply);
      if (delayNanos <= 0) {
        finish.run();
        return;
      }
      try {
        scheduler.schedule(finish, delayNanos, TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        abandon(); // stopping
      }
    }

    void answer(Reply reply) {
      if (claim()) {
        send(exchange, reply);
      }
    }

    /**
     * After the latency, a 200 whose body never ends: one space every {@link #ENDLESS_BYTE_EVERY}
     * (JSON allows leading whitespace, so only a client that bounds the whole body gives up), until
     * the client goes away, the server stops, or {@link #MAX_HANG} passes.
     */
    void endless(long delayNanos) {
      long until = System.nanoTime() + delayNanos + MAX_HANG.toNanos();
      try {
        scheduler.schedule(
            () -> {
              try {
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.getResponseHeaders().set(SIMULATOR_HEADER, "true");
                exchange.sendResponseHeaders(200, 0); // chunked: no length, so the body can go on
                OutputStream out = exchange.getResponseBody();
                AtomicReference<ScheduledFuture<?>> drip = new AtomicReference<>();
                drip.set(
                    scheduler.scheduleWithFixedDelay(
                        () -> {
                          try {
                            if (done.get() || System.nanoTime() > until) {
                              throw new IOException("over");
                            }
                            out.write(' ');
                            out.flush();
                          } catch (IOException e) {
                            abandon();
                            drip.get().cancel(false);
                          }
                        },
                        ENDLESS_BYTE_EVERY.toMillis(),
                        ENDLESS_BYTE_EVERY.toMillis(),
                        TimeUnit.MILLISECONDS));
              } catch (IOException | RuntimeException e) {
                abandon();
              }
            },
            delayNanos,
            TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        abandon(); // stopping
      }
    }

    /** Closes the connection without a reply: the client sees it drop. */
    void abandon() {
      if (claim()) {
        exchange.close();
      }
    }

    private boolean claim() {
      if (!done.compareAndSet(false, true)) {
        return false;
      }
      pending.remove(this);
      inFlight.decrementAndGet();
      return true;
    }
  }

  private static void send(HttpExchange exchange, Reply reply) {
    try (exchange) {
      exchange.getResponseHeaders().set("Content-Type", reply.contentType());
      exchange.getResponseHeaders().set(SIMULATOR_HEADER, "true");
      reply.headers().forEach(exchange.getResponseHeaders()::set);
      exchange.sendResponseHeaders(
          reply.status(), reply.body().length == 0 ? -1 : reply.body().length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(reply.body());
      }
    } catch (IOException e) {
      // The client went away (timed out, gave up): nothing to answer.
    }
  }

  private static ThreadFactory daemons(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
