package dev.llmstreams.observability;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The app's HTTP server: {@code /metrics}, {@code /health}, {@code /ready} and the query routes
 * that patterns add. Binds to loopback unless {@code http.host} says otherwise.
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

    public static Reply text(int status, String body) {
      return new Reply(status, "text/plain; charset=utf-8", body);
    }
  }

  /** A GET route: receives the path after the route's prefix and the raw query string. */
  @FunctionalInterface
  public interface Route {
    Reply get(String rest, String query) throws Exception;
  }

  private final HttpServer server;
  private final ExecutorService executor;

  public HttpApi(String host, int port, Observability observability, Supplier<Health> health)
      throws IOException {
    try {
      server = HttpServer.create(new InetSocketAddress(host, port), 64);
    } catch (java.net.BindException e) {
      throw new java.net.BindException(
          "HTTP port "
              + port
              + " on "
              + host
              + " is already in use; choose another with http.port (LLMSTREAMS_HTTP_PORT)");
    }
    executor =
        Executors.newFixedThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "llmstreams-http");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    // OpenMetrics (with trace exemplars) to a scraper that asks for it, else the Prometheus text.
    server.createContext(
        "/metrics",
        exchange -> {
          String accept = exchange.getRequestHeaders().getFirst("Accept");
          handle(
              exchange,
              "/metrics",
              (rest, q) ->
                  new Reply(200, Observability.contentType(accept), observability.scrape(accept)));
        });
    route(
        "/health",
        (rest, q) -> {
          Health h = health.get();
          return Reply.json(h.alive() ? 200 : 503, h.toJson());
        });
    route(
        "/ready",
        (rest, q) -> {
          Health h = health.get();
          return Reply.json(h.ready() ? 200 : 503, h.toJson());
        });
  }

  public void route(String prefix, Route route) {
    server.createContext(prefix, exchange -> handle(exchange, prefix, route));
  }

  /**
   * Serves every method on {@code path} (and the paths under it) with {@code handler}, which
   * answers the exchange itself, at once or later from another thread (e.g. the MCP endpoint).
   */
  public void handle(String path, com.sun.net.httpserver.HttpHandler handler) {
    server.createContext(path, handler);
  }

  private static void handle(HttpExchange exchange, String prefix, Route route) throws IOException {
    Reply reply;
    try {
      if (!"GET".equals(exchange.getRequestMethod())
          && !"HEAD".equals(exchange.getRequestMethod())) {
        reply = Reply.text(405, "only GET is served\n");
        exchange.getResponseHeaders().add("Allow", "GET, HEAD");
      } else {
        String rest = exchange.getRequestURI().getPath().substring(prefix.length());
        reply = route.get(rest, exchange.getRequestURI().getRawQuery());
      }
    } catch (Exception e) {
      LOG.warn("GET {} failed", exchange.getRequestURI(), e);
      reply = Reply.json(500, "{\"error\":\"internal error\"}");
    }
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
