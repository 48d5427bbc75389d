package dev.llmstreams.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A minimal OTLP/HTTP trace receiver for benchmarks with tracing on: {@code POST /v1/traces} reads
 * the body, counts the request and its bytes, and answers 200 with an empty protobuf body (an empty
 * {@code ExportTraceServiceResponse}: everything accepted). The spans are not decoded or kept; the
 * point is that the app's span exporter really serializes and sends them over HTTP, as it would to
 * a collector.
 */
public final class OtlpSink implements AutoCloseable {
  public static final String TRACES_PATH = "/v1/traces";

  private final HttpServer server;
  private final ExecutorService executor;
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private Runnable restore = () -> {};

  private OtlpSink(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /** Listens on a free port of 127.0.0.1. */
  public static OtlpSink start() throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    ExecutorService executor =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "otlp-sink");
              t.setDaemon(true);
              return t;
            });
    OtlpSink sink = new OtlpSink(server, executor);
    server.createContext("/", sink::handle);
    server.setExecutor(executor);
    server.start();
    return sink;
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      if (!TRACES_PATH.equals(exchange.getRequestURI().getPath())) {
        refused.incrementAndGet();
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      if (!"POST".equals(exchange.getRequestMethod())) {
        refused.incrementAndGet();
        exchange.getResponseHeaders().set("Allow", "POST");
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      long read = 0;
      try (InputStream in = exchange.getRequestBody()) {
        byte[] buffer = new byte[16 * 1024];
        for (int n; (n = in.read(buffer)) >= 0; ) {
          read += n;
        }
      }
      bytes.addAndGet(read);
      requests.incrementAndGet();
      exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, -1);
    }
  }

  /** The OTLP base endpoint, e.g. {@code http://127.0.0.1:4318}: the exporter adds /v1/traces. */
  public String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** The {@code otel.*} settings that point the SDK's autoconfigured span exporter here. */
  public Map<String, String> otelProperties() {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("otel.traces.exporter", "otlp");
    p.put("otel.exporter.otlp.protocol", "http/protobuf");
    p.put("otel.exporter.otlp.endpoint", endpoint());
    return p;
  }

  /**
   * Points the OpenTelemetry SDK's autoconfiguration of this process here, until {@link #close}:
   * sets the {@code -Dotel.*} system properties of {@link #otelProperties} (which an app reads when
   * it starts its span exporter), and puts back what was there before when closed.
   */
  public synchronized OtlpSink exportHere() {
    restore.run();
    restore = systemProperties(otelProperties());
    return this;
  }

  /** Export requests accepted on {@code POST /v1/traces}. */
  public long requests() {
    return requests.get();
  }

  /** Bytes of the accepted requests' bodies (protobuf, as sent: compressed if the SDK was told). */
  public long bytes() {
    return bytes.get();
  }

  /** Requests on another path or with another method (answered 404 or 405). */
  public long refused() {
    return refused.get();
  }

  @Override
  public void close() {
    synchronized (this) {
      restore.run();
      restore = () -> {};
    }
    server.stop(0);
    executor.shutdownNow();
  }

  /**
   * Sets system properties until closed, then puts back what was there before (or clears them): the
   * OpenTelemetry SDK's autoconfiguration reads {@code -Dotel.*} system properties, and an app
   * reads them when it starts its span exporter.
   */
  static Runnable systemProperties(Map<String, String> values) {
    Properties system = System.getProperties();
    Map<String, String> before = new LinkedHashMap<>();
    values.forEach(
        (k, v) -> {
          before.put(k, system.getProperty(k));
          System.setProperty(k, v);
        });
    return () ->
        before.forEach(
            (k, v) -> {
              if (v == null) {
                System.clearProperty(k);
              } else {
                System.setProperty(k, v);
              }
            });
  }
}
