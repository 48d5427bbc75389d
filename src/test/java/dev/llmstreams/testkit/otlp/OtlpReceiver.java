package dev.llmstreams.testkit.otlp;

import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.sun.net.httpserver.HttpExchange;
import dev.llmstreams.testkit.LoopbackHttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;

/**
 * A real OTLP/HTTP trace receiver on 127.0.0.1, as a collector or Tempo runs one: {@code POST
 * /v1/traces} with an {@code application/x-protobuf} {@code ExportTraceServiceRequest} (gzip body
 * when {@code Content-Encoding: gzip}), answered 200 with an empty {@code
 * ExportTraceServiceResponse}. Every span received is kept, decoded, with its resource's
 * attributes, in arrival order (a span sent twice is kept twice).
 *
 * <pre>{@code
 * try (OtlpReceiver receiver = OtlpReceiver.start()) {
 *   // OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint(), OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
 *   receiver.awaitSpans(spans -> spans.size() >= 3, Duration.ofSeconds(30));
 *   List<ReceivedSpan> trace = receiver.trace(traceId);
 * }
 * }</pre>
 *
 * <p>OTLP/JSON ({@code application/json}) is answered 415: the OpenTelemetry Java SDK's exporters
 * send protobuf, and decoding OTLP/JSON (hex ids, integer enums) needs more than this test kit has.
 * {@link #failNext(int)} answers the next requests 503, which OTLP clients retry.
 */
public final class OtlpReceiver implements AutoCloseable {
  /** The path of OTLP/HTTP trace exports, under the base endpoint. */
  public static final String TRACES_PATH = "/v1/traces";

  private static final HexFormat HEX = HexFormat.of();

  private final LoopbackHttpServer server;
  private final List<ReceivedSpan> spans = new CopyOnWriteArrayList<>();
  private final AtomicInteger toFail = new AtomicInteger();
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();

  private OtlpReceiver() {
    server = LoopbackHttpServer.start("otlp-receiver", this::handle);
  }

  /** Starts a receiver on a free port of 127.0.0.1. */
  public static OtlpReceiver start() {
    return new OtlpReceiver();
  }

  /**
   * {@code http://127.0.0.1:PORT}: the base endpoint, as {@code OTEL_EXPORTER_OTLP_ENDPOINT} takes
   * it (the SDK adds {@code /v1/traces}).
   */
  public String endpoint() {
    return "http://127.0.0.1:" + server.port();
  }

  /** The OpenTelemetry SDK settings (environment variables) that export spans here. */
  public Map<String, String> exporterEnv() {
    return Map.of(
        "OTEL_EXPORTER_OTLP_ENDPOINT", endpoint(), "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
  }

  /**
   * The full trace URL, as {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT} and exporter builders take.
   */
  public String tracesEndpoint() {
    return endpoint() + TRACES_PATH;
  }

  /** Every span received so far, in arrival order; a span sent twice is there twice. */
  public List<ReceivedSpan> spans() {
    return List.copyOf(spans);
  }

  /** The spans received so far of one trace (32 lowercase hex digits). */
  public List<ReceivedSpan> trace(String traceId) {
    return spans.stream().filter(s -> s.traceId().equals(traceId)).toList();
  }

  /**
   * Waits until the spans received so far satisfy {@code condition}, and returns them; fails after
   * {@code timeout} with what was received.
   */
  public List<ReceivedSpan> awaitSpans(Predicate<List<ReceivedSpan>> condition, Duration timeout) {
    await()
        .alias("OTLP spans; received so far: " + summary())
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(50))
        .until(() -> condition.test(spans()));
    return spans();
  }

  /** Waits for a span that matches {@code condition} and returns the first one received. */
  public ReceivedSpan awaitSpan(Predicate<ReceivedSpan> condition, Duration timeout) {
    return awaitSpans(all -> all.stream().anyMatch(condition), timeout).stream()
        .filter(condition)
        .findFirst()
        .orElseThrow();
  }

  /** Answers the next {@code n} export requests with 503 (retryable in OTLP) and keeps nothing. */
  public void failNext(int n) {
    toFail.set(n);
  }

  /** Export requests received, failed ones included. */
  public int requestCount() {
    return requests.get();
  }

  /** Export requests answered 503 by {@link #failNext(int)}. */
  public int failedCount() {
    return failed.get();
  }

  /** Forgets the spans received so far. */
  public void clear() {
    spans.clear();
  }

  @Override
  public void close() {
    server.close();
  }

  private String summary() {
    List<ReceivedSpan> all = spans();
    StringBuilder out = new StringBuilder(all.size() + " spans");
    for (ReceivedSpan s : all.subList(Math.max(0, all.size() - 20), all.size())) {
      out.append("\n  ").append(s);
    }
    return out.toString();
  }

  private void handle(HttpExchange exchange) {
    try {
      byte[] body;
      try (InputStream in = exchange.getRequestBody()) {
        body = in.readAllBytes();
      }
      if (!exchange.getRequestMethod().equals("POST")
          || !exchange.getRequestURI().getPath().equals(TRACES_PATH)) {
        reply(exchange, 404, "text/plain", bytes("OTLP receiver: POST " + TRACES_PATH + " only"));
        return;
      }
      requests.incrementAndGet();
      if (toFail.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        failed.incrementAndGet();
        reply(exchange, 503, "text/plain", bytes("OTLP receiver: failing on purpose"));
        return;
      }
      String type = header(exchange, "Content-Type");
      if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/x-protobuf")) {
        reply(
            exchange,
            415,
            "text/plain",
            bytes("OTLP receiver: application/x-protobuf only, not " + type));
        return;
      }
      if ("gzip".equalsIgnoreCase(header(exchange, "Content-Encoding"))) {
        try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(body))) {
          body = in.readAllBytes();
        }
      }
      ExportTraceServiceRequest request;
      try {
        request = ExportTraceServiceRequest.parseFrom(body);
      } catch (InvalidProtocolBufferException e) {
        reply(exchange, 400, "text/plain", bytes("OTLP receiver: " + e.getMessage()));
        return;
      }
      spans.addAll(decode(request));
      reply(
          exchange,
          200,
          "application/x-protobuf",
          ExportTraceServiceResponse.getDefaultInstance().toByteArray());
    } catch (IOException e) {
      // the client went away: nothing to answer
    } finally {
      exchange.close();
    }
  }

  private static String header(HttpExchange exchange, String name) {
    return exchange.getRequestHeaders().getFirst(name);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static void reply(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /** The spans of one export request, each with its resource's attributes. */
  public static List<ReceivedSpan> decode(ExportTraceServiceRequest request) {
    List<ReceivedSpan> out = new ArrayList<>();
    for (ResourceSpans rs : request.getResourceSpansList()) {
      Map<String, Object> resource = attributes(rs.getResource().getAttributesList());
      Object service = resource.get("service.name");
      for (ScopeSpans ss : rs.getScopeSpansList()) {
        String scope = ss.getScope().getName();
        for (Span s : ss.getSpansList()) {
          List<ReceivedSpan.Link> links = new ArrayList<>();
          for (Span.Link l : s.getLinksList()) {
            links.add(
                new ReceivedSpan.Link(
                    hex(l.getTraceId()), hex(l.getSpanId()), attributes(l.getAttributesList())));
          }
          out.add(
              new ReceivedSpan(
                  hex(s.getTraceId()),
                  hex(s.getSpanId()),
                  hex(s.getParentSpanId()),
                  s.getName(),
                  s.getKind().name().replaceFirst("^SPAN_KIND_", ""),
                  s.getStartTimeUnixNano(),
                  s.getEndTimeUnixNano(),
                  attributes(s.getAttributesList()),
                  List.copyOf(links),
                  s.getStatus().getCode().name().replaceFirst("^STATUS_CODE_", ""),
                  s.getStatus().getMessage(),
                  s.getTraceState(),
                  service == null ? null : service.toString(),
                  resource,
                  scope));
        }
      }
    }
    return out;
  }

  /** Lowercase hex of an id, or null for an empty one (no parent). */
  private static String hex(ByteString id) {
    return id.isEmpty() ? null : HEX.formatHex(id.toByteArray());
  }

  private static Map<String, Object> attributes(List<KeyValue> values) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (KeyValue kv : values) {
      out.put(kv.getKey(), value(kv.getValue()));
    }
    return java.util.Collections.unmodifiableMap(out);
  }

  private static Object value(AnyValue v) {
    return switch (v.getValueCase()) {
      case STRING_VALUE -> v.getStringValue();
      case BOOL_VALUE -> v.getBoolValue();
      case INT_VALUE -> v.getIntValue();
      case DOUBLE_VALUE -> v.getDoubleValue();
      case ARRAY_VALUE -> v.getArrayValue().getValuesList().stream().map(x -> value(x)).toList();
      case KVLIST_VALUE -> attributes(v.getKvlistValue().getValuesList());
      case BYTES_VALUE -> v.getBytesValue().toByteArray();
      case VALUE_NOT_SET -> null;
      default -> v.toString();
    };
  }

  /**
   * One span as an OTLP receiver got it.
   *
   * @param parentSpanId null for a root span
   * @param kind INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER or UNSPECIFIED
   * @param attributes values as String, Boolean, Long, Double, List or Map
   * @param status UNSET, OK or ERROR
   * @param traceState the W3C tracestate, empty when none
   * @param service the resource's {@code service.name}
   * @param resource all the resource's attributes
   * @param scope the instrumentation scope's name
   */
  public record ReceivedSpan(
      String traceId,
      String spanId,
      String parentSpanId,
      String name,
      String kind,
      long startEpochNanos,
      long endEpochNanos,
      Map<String, Object> attributes,
      List<Link> links,
      String status,
      String statusMessage,
      String traceState,
      String service,
      Map<String, Object> resource,
      String scope) {

    /** An attribute's value, or null. */
    public Object attr(String key) {
      return attributes.get(key);
    }

    /** An attribute's value as text, or null. */
    public String text(String key) {
      Object v = attributes.get(key);
      return v == null ? null : v.toString();
    }

    @Override
    public String toString() {
      return name
          + " ["
          + service
          + "] "
          + traceId
          + "/"
          + spanId
          + " parent="
          + parentSpanId
          + " "
          + status
          + " "
          + attributes;
    }

    /** A link to another span. */
    public record Link(String traceId, String spanId, Map<String, Object> attributes) {}
  }
}
