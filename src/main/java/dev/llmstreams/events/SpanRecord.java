package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * One finished span (topic role SPANS, keyed by traceId), written in the same transaction as the
 * records of the work it describes: work that was rolled back leaves no span, committed work leaves
 * exactly one. The span exporter reads the topic {@code read_committed} and ships the spans over
 * OTLP.
 *
 * @param traceId 32 lowercase hex digits
 * @param spanId 16 lowercase hex digits
 * @param parentSpanId the parent's span id, or null for a root span
 * @param traceState the W3C {@code tracestate} carried along, or null
 * @param kind OpenTelemetry span kind: INTERNAL, CLIENT, SERVER, PRODUCER or CONSUMER
 * @param status UNSET, OK or ERROR
 * @param attributes values are strings, integers, doubles, booleans or lists of strings
 * @param links spans this one continues from another trace (e.g. the inputs of a merge)
 * @param service the Streams application that recorded it (e.g. {@code llm-streams-controller})
 * @param instance the host and process that recorded it
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SpanRecord(
    String traceId,
    String spanId,
    String parentSpanId,
    String traceState,
    String name,
    String kind,
    @JsonProperty(required = true) long startEpochNanos,
    @JsonProperty(required = true) long endEpochNanos,
    String status,
    String statusMessage,
    Map<String, Object> attributes,
    List<Link> links,
    String service,
    String instance) {

  /** A link to a span of another (or the same) trace. */
  public record Link(String traceId, String spanId, Map<String, Object> attributes) {
    public Link {
      Require.check(SpanIds.isTraceId(traceId), "traceId must be 32 hex digits, not all zero");
      Require.check(SpanIds.isSpanId(spanId), "spanId must be 16 hex digits, not all zero");
      attributes = normalized(attributes);
    }
  }

  /**
   * Attribute values as OpenTelemetry types: whole numbers as longs, other numbers as doubles,
   * lists as lists of strings (so that a span reads back equal to what was written).
   */
  static Map<String, Object> normalized(Map<String, Object> attributes) {
    if (attributes == null || attributes.isEmpty()) {
      return Map.of();
    }
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    attributes.forEach(
        (k, v) -> {
          Object n =
              v instanceof Integer || v instanceof Short || v instanceof Byte
                  ? Long.valueOf(((Number) v).longValue())
                  : v instanceof Float f
                      ? Double.valueOf(f.doubleValue())
                      : v instanceof java.math.BigInteger b
                          ? Long.valueOf(b.longValue())
                          : v instanceof java.math.BigDecimal d
                              ? Double.valueOf(d.doubleValue())
                              : v instanceof List<?> list
                                  ? list.stream().map(String::valueOf).toList()
                                  : v;
          if (n != null) {
            out.put(k, n);
          }
        });
    return java.util.Collections.unmodifiableMap(out);
  }

  public SpanRecord {
    Require.check(SpanIds.isTraceId(traceId), "traceId must be 32 hex digits, not all zero");
    Require.check(SpanIds.isSpanId(spanId), "spanId must be 16 hex digits, not all zero");
    Require.check(
        parentSpanId == null || SpanIds.isSpanId(parentSpanId),
        "parentSpanId must be 16 hex digits, not all zero");
    Require.text(name, "name");
    Require.check(
        List.of("INTERNAL", "CLIENT", "SERVER", "PRODUCER", "CONSUMER").contains(kind),
        "kind must be INTERNAL, CLIENT, SERVER, PRODUCER or CONSUMER");
    Require.check(endEpochNanos >= startEpochNanos, "endEpochNanos must not precede the start");
    Require.check(
        List.of("UNSET", "OK", "ERROR").contains(status), "status must be UNSET, OK or ERROR");
    attributes = normalized(attributes);
    links = links == null ? List.of() : List.copyOf(links);
  }

  /** Checks of W3C trace-context ids. */
  public static final class SpanIds {
    private SpanIds() {}

    public static boolean isTraceId(String s) {
      return isHex(s, 32);
    }

    public static boolean isSpanId(String s) {
      return isHex(s, 16);
    }

    private static boolean isHex(String s, int length) {
      if (s == null || s.length() != length) {
        return false;
      }
      boolean nonZero = false;
      for (int i = 0; i < length; i++) {
        char c = s.charAt(i);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
          return false;
        }
        nonZero |= c != '0';
      }
      return nonZero;
    }
  }
}
