package dev.llmstreams.chaos;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The page the chaos run's http_get goals fetch: a loopback HTTP server that counts GETs per {@code
 * call} query parameter (the goal's id, which names its one tool call), so a fetch made again after
 * a kill is seen.
 */
final class FetchCounter implements AutoCloseable {
  private final HttpServer server;
  private final Map<String, AtomicInteger> fetches = new ConcurrentHashMap<>();

  FetchCounter() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    server.setExecutor(
        Executors.newFixedThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "chaos-fetch-counter");
              t.setDaemon(true);
              return t;
            }));
    server.createContext(
        "/page",
        exchange -> {
          try (exchange) {
            String query = exchange.getRequestURI().getQuery();
            String call =
                query != null && query.startsWith("call=") ? query.substring("call=".length()) : "";
            fetches.computeIfAbsent(call, c -> new AtomicInteger()).incrementAndGet();
            byte[] body =
                ("{\"page\":\"chaos\",\"call\":\"" + call + "\"}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
              out.write(body);
            }
          }
        });
    server.start();
  }

  /** The URL a goal's http_get call fetches. */
  String url(String call) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/page?call=" + call;
  }

  /** GETs per call so far. */
  Map<String, Integer> fetches() {
    Map<String, Integer> out = new TreeMap<>();
    fetches.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
