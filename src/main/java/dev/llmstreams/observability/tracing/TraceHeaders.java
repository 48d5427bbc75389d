package dev.llmstreams.observability.tracing;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * W3C trace context in Kafka record headers ({@code traceparent}, {@code tracestate}), read and
 * written by OpenTelemetry's own propagator, so the format is exactly what every other W3C client
 * (OpenTelemetry SDKs in Python, Go, Node, .NET; librdkafka users setting the header by hand)
 * writes and reads.
 */
public final class TraceHeaders {
  public static final String TRACEPARENT = "traceparent";
  public static final String TRACESTATE = "tracestate";

  private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();

  private static final TextMapGetter<Headers> GETTER =
      new TextMapGetter<>() {
        @Override
        public String get(Headers carrier, String key) {
          if (carrier == null) {
            return null;
          }
          Header h = carrier.lastHeader(key);
          return h == null || h.value() == null
              ? null
              : new String(h.value(), StandardCharsets.UTF_8);
        }
      };

  private static final TextMapSetter<Headers> SETTER =
      (carrier, key, value) -> {
        if (carrier != null) {
          carrier.remove(key);
          carrier.add(key, value.getBytes(StandardCharsets.UTF_8));
        }
      };

  private static final TextMapGetter<Map<String, String>> MAP_GETTER =
      new TextMapGetter<>() {
        @Override
        public String get(Map<String, String> carrier, String key) {
          return carrier == null ? null : carrier.get(key);
        }
      };

  private TraceHeaders() {}

  /** The span context a record's headers carry; invalid when there is none or it is malformed. */
  public static SpanContext read(Headers headers) {
    if (headers == null || headers.lastHeader(TRACEPARENT) == null) {
      return SpanContext.getInvalid();
    }
    return Span.fromContext(W3C.extract(Context.root(), headers, GETTER)).getSpanContext();
  }

  /** Sets the record's {@code traceparent} (and {@code tracestate}) to {@code span}. */
  public static void write(Headers headers, SpanRef span) {
    headers.remove(TRACEPARENT);
    headers.remove(TRACESTATE);
    W3C.inject(Context.root().with(Span.wrap(span.spanContext())), headers, SETTER);
  }

  /**
   * A record with headers of its own that carry {@code span} as its trace context (none when {@code
   * span} is null): how every output of the app is written under the span of its work.
   */
  public static <K, V> org.apache.kafka.streams.processor.api.Record<K, V> record(
      K key, V value, long timestamp, SpanRef span) {
    var out =
        new org.apache.kafka.streams.processor.api.Record<>(
            key, value, timestamp, new org.apache.kafka.common.header.internals.RecordHeaders());
    if (span != null) {
      write(out.headers(), span);
    }
    return out;
  }

  /** Copies the trace context headers of one record to another. */
  public static void copy(Headers from, Headers to) {
    for (String key : new String[] {TRACEPARENT, TRACESTATE}) {
      Header h = from == null ? null : from.lastHeader(key);
      if (h != null) {
        to.remove(key);
        to.add(key, h.value());
      }
    }
  }

  /** The trace id a record carries, or null. */
  public static String traceId(Headers headers) {
    SpanContext c = read(headers);
    return c.isValid() ? c.getTraceId() : null;
  }

  /** The {@code tracestate} header text of a span context, or null when it has none. */
  public static String traceState(SpanContext context) {
    if (context.getTraceState().isEmpty()) {
      return null;
    }
    Map<String, String> out = new HashMap<>();
    W3C.inject(Context.root().with(Span.wrap(context)), out, Map::put);
    return out.get(TRACESTATE);
  }

  static SpanContext context(String traceparent, String tracestate) {
    Map<String, String> carrier = new HashMap<>(2);
    carrier.put(TRACEPARENT, traceparent);
    if (tracestate != null) {
      carrier.put(TRACESTATE, tracestate);
    }
    return Span.fromContext(W3C.extract(Context.root(), carrier, MAP_GETTER)).getSpanContext();
  }
}
