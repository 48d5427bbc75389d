package dev.llmstreams.observability;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsServer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The app's HTTP server: {@code /metrics}, {@code /health}, {@code /ready} and the query routes
 * that patterns add. Binds to loopback unless {@code http.host} says otherwise; HTTPS with an
 * {@link HttpTls}. With an {@link HttpAuth} that requires tokens, every route but the open ones
 * needs {@code Authorization: Bearer <token>} with its scope: {@code /metrics} {@link
 * HttpAuth.Scope#METRICS}, the query routes {@link HttpAuth.Scope#READ}, {@code /health} and {@code
 * /ready} any valid token. A refusal is 401 (no or an unknown token) or 403 (a token without the
 * scope) with its {@code WWW-Authenticate} challenge (RFC 6750), counted in {@code
 * llmstreams.http.auth.failures} by reason and route, and logged without the token.
 */
public final class HttpApi implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);

  static {
    // Read once per JVM by the JDK server: without it, small answers wait for the client's delayed
    // ACK (~40 ms).
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  /** What a route answers: a status, a content type and a body. */
  public record Reply(int status, String contentType, String body) {
    public static Reply json(int status, String body) {
      return new Reply(status, "application/json", body);
    }

    /** {@code {"error": message}}, JSON-escaped. */
    public static Reply error(int status, String message) {
      return json(
          status, dev.llmstreams.events.Json.toTree(java.util.Map.of("error", message)).toString());
    }

    public static Reply text(int status, String body) {
      return new Reply(status, "text/plain; charset=utf-8", body);
    }
  }

  /**
   * A GET route: receives the path after the route's prefix, percent-decoded ({@code %2B} is {@code
   * +}, and a {@code +} stays one), and the raw query string.
   */
  @FunctionalInterface
  public interface Route {
    Reply get(String rest, String query) throws Exception;
  }

  /**
   * {@code text} as one path segment: UTF-8, percent-encoded, a space as {@code %20} (a {@code +}
   * in a path is a plus), {@code /} encoded too.
   */
  public static String pathSegment(String text) {
    return java.net.URLEncoder.encode(text, java.nio.charset.StandardCharsets.UTF_8)
        .replace("+", "%20");
  }

  /** At most one line per this interval about refused requests; the others are counted. */
  private static final long LOG_INTERVAL_NANOS = Duration.ofSeconds(10).toNanos();

  /**
   * The {@code Authorization} header of the request this thread serves, for a route that forwards
   * the request to a peer on the caller's behalf (see {@link #callerAuthorization}).
   */
  private static final ThreadLocal<String> CALLER = new ThreadLocal<>();

  private final HttpServer server;
  private final ExecutorService executor;
  private final HttpAuth auth;
  private final HttpTls tls;
  private final HttpClient client;
  private final MeterRegistry registry;
  private final AtomicLong nextLog = new AtomicLong(System.nanoTime());
  private final AtomicLong unlogged = new AtomicLong();

  /** The paths served, as a 404 lists them: {@code /goals/{key}} for a route that takes a key. */
  private final java.util.List<String> paths = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** A plain HTTP server without authentication. */
  public HttpApi(String host, int port, Observability observability, Supplier<Health> health)
      throws IOException {
    this(host, port, observability, health, HttpAuth.none(), null);
  }

  /**
   * @param auth who may call which route
   * @param tls HTTPS when not null
   */
  public HttpApi(
      String host,
      int port,
      Observability observability,
      Supplier<Health> health,
      HttpAuth auth,
      HttpTls tls)
      throws IOException {
    this.auth = auth;
    this.tls = tls;
    this.registry = observability.registry();
    try {
      InetSocketAddress address = new InetSocketAddress(host, port);
      if (tls == null) {
        server = HttpServer.create(address, 64);
      } else {
        HttpsServer https = HttpsServer.create(address, 64);
        https.setHttpsConfigurator(tls.configurator());
        server = https;
      }
    } catch (java.net.BindException e) {
      throw new java.net.BindException(
          "HTTP port "
              + port
              + " on "
              + host
              + " is already in use; choose another with http.port (LLMSTREAMS_HTTP_PORT)");
    }
    HttpClient.Builder clients =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(2))
            .followRedirects(HttpClient.Redirect.NEVER);
    if (tls != null) {
      clients.sslContext(tls.client());
    }
    client = clients.build();
    executor =
        Executors.newFixedThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "llmstreams-http");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    // Every path no route serves: a JSON 404 naming the paths that are served.
    server.createContext("/", this::notFound);
    paths.add("/metrics");
    // OpenMetrics (with trace exemplars) to a scraper that asks for it, else the Prometheus text.
    server.createContext(
        "/metrics",
        exchange -> {
          String accept = exchange.getRequestHeaders().getFirst("Accept");
          handle(
              exchange,
              "/metrics",
              HttpAuth.Scope.METRICS,
              (rest, q) ->
                  new Reply(200, Observability.contentType(accept), observability.scrape(accept)));
        });
    route(
        "/health",
        null,
        (rest, q) -> {
          Health h = health.get();
          return Reply.json(h.alive() ? 200 : 503, h.toJson());
        });
    route(
        "/ready",
        null,
        (rest, q) -> {
          Health h = health.get();
          return Reply.json(h.ready() ? 200 : 503, h.toJson());
        });
  }

  /** Serves {@code GET <prefix>...} with {@code route}, to tokens with the read scope. */
  public void route(String prefix, Route route) {
    route(prefix, HttpAuth.Scope.READ, route);
  }

  /** Serves {@code GET <prefix>...} with {@code route}; {@code scope} null: any valid token. */
  private void route(String prefix, HttpAuth.Scope scope, Route route) {
    paths.add(prefix.endsWith("/") ? prefix + "{key}" : prefix);
    server.createContext(prefix, exchange -> handle(exchange, prefix, scope, route));
  }

  /**
   * Serves every method on {@code path} (and the paths under it) with {@code handler}, which
   * answers the exchange itself, at once or later from another thread (e.g. the MCP endpoint). The
   * handler authenticates requests itself, with {@link #auth()} and {@link #refused}.
   */
  public void handle(String path, com.sun.net.httpserver.HttpHandler handler) {
    paths.add(path);
    server.createContext(path, handler);
  }

  /** Who may call which route. */
  /** Whether a route serves exactly {@code path} (one taking a key is {@code <prefix>{key}}). */
  public boolean serves(String path) {
    return paths.contains(path);
  }

  public HttpAuth auth() {
    return auth;
  }

  /**
   * Counts and logs (without the token) a request to {@code route} refused for {@code outcome}, and
   * sets the response's {@code WWW-Authenticate} challenge; the caller sends the status.
   */
  public void refused(HttpExchange exchange, String route, HttpAuth.Outcome outcome) {
    Counter.builder("llmstreams.http.auth.failures")
        .description(
            "Requests to the HTTP server refused for a missing (401) or unknown (401) bearer token, or a"
                + " token without the route's scope (403), by reason and route")
        .tags("reason", outcome.reason().tag(), "route", route)
        .register(registry)
        .increment();
    exchange.getResponseHeaders().set("WWW-Authenticate", outcome.challenge());
    long now = System.nanoTime();
    long next = nextLog.get();
    if (now - next >= 0 && nextLog.compareAndSet(next, now + LOG_INTERVAL_NANOS)) {
      long more = unlogged.getAndSet(0);
      LOG.warn(
          "HTTP {} {} from {} refused ({}): {}{}",
          exchange.getRequestMethod(),
          route,
          exchange.getRemoteAddress(),
          outcome.reason().tag(),
          outcome.message(),
          more == 0 ? "" : " (and " + more + " more refusals since the last such line)");
    } else {
      unlogged.incrementAndGet();
    }
  }

  /**
   * The {@code Authorization} header of the request the calling thread serves in a {@link Route},
   * null outside one or without the header: a route that asks a peer instance on the caller's
   * behalf sends it on, so every instance must accept the same tokens.
   */
  public static String callerAuthorization() {
    return CALLER.get();
  }

  /**
   * The client the app asks its peers and itself with: it trusts this server's certificate when the
   * server is HTTPS.
   */
  public HttpClient client() {
    return client;
  }

  /** {@code https} with TLS, else {@code http}. */
  public String scheme() {
    return tls == null ? "http" : "https";
  }

  private void handle(HttpExchange exchange, String prefix, HttpAuth.Scope scope, Route route)
      throws IOException {
    Reply reply;
    String authorization = exchange.getRequestHeaders().getFirst("Authorization");
    HttpAuth.Outcome outcome = auth.open(prefix) ? null : auth.check(authorization, scope);
    try {
      if (outcome != null && !outcome.allowed()) {
        refused(exchange, prefix, outcome);
        reply = Reply.error(outcome.reason().status(), outcome.message());
      } else if (!"GET".equals(exchange.getRequestMethod())
          && !"HEAD".equals(exchange.getRequestMethod())) {
        reply = Reply.text(405, "only GET is served\n");
        exchange.getResponseHeaders().add("Allow", "GET, HEAD");
      } else if (!prefix.endsWith("/")
          && exchange.getRequestURI().getPath().length() > prefix.length()) {
        // The server matches contexts by prefix: /healthz or /metrics/x is not /health or
        // /metrics. A route that takes a key ends with a slash.
        reply = noRoute(exchange);
      } else {
        String rest = exchange.getRequestURI().getPath().substring(prefix.length());
        CALLER.set(authorization);
        try {
          reply = route.get(rest, exchange.getRequestURI().getRawQuery());
        } finally {
          CALLER.remove();
        }
      }
    } catch (Exception e) {
      LOG.warn("GET {} failed", exchange.getRequestURI(), e);
      reply = Reply.json(500, "{\"error\":\"internal error\"}");
    }
    send(exchange, reply);
  }

  private void notFound(HttpExchange exchange) throws IOException {
    send(exchange, noRoute(exchange));
  }

  private Reply noRoute(HttpExchange exchange) {
    String path = exchange.getRequestURI().getRawPath();
    java.util.Map<String, Object> body = new java.util.LinkedHashMap<>();
    body.put("error", "no route " + (path.length() <= 200 ? path : path.substring(0, 200) + "..."));
    body.put("routes", paths.stream().sorted().toList());
    return Reply.json(404, dev.llmstreams.events.Json.toTree(body).toString());
  }

  private static void send(HttpExchange exchange, Reply reply) throws IOException {
    byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", reply.contentType());
    boolean head = "HEAD".equals(exchange.getRequestMethod());
    exchange.sendResponseHeaders(reply.status(), head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
    exchange.close();
  }

  public void start() {
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public String host() {
    return server.getAddress().getHostString();
  }

  /** The address the server is bound to (a wildcard address when it listens on all of them). */
  public java.net.InetAddress address() {
    return server.getAddress().getAddress();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
