package dev.llmstreams.observability.tracing;

import io.prometheus.metrics.tracer.common.SpanContext;

/**
 * The span a thread works for: latency histograms recorded meanwhile carry its trace id as an
 * exemplar (served in the OpenMetrics format on {@code /metrics}; Grafana opens the trace from the
 * exemplar), and an MCP tool call made meanwhile carries it in its {@code _meta}. Set just around
 * that work, on the same thread.
 */
public final class CurrentSpan implements SpanContext {
  private static final ThreadLocal<SpanRef> CURRENT = new ThreadLocal<>();

  public static void set(SpanRef span) {
    CURRENT.set(span);
  }

  public static void clear() {
    CURRENT.remove();
  }

  /**
   * The MCP request {@code _meta} that continues this thread's span in the server (W3C {@code
   * traceparent} and {@code tracestate} keys, as MCP's SEP-414 and the OpenTelemetry MCP
   * conventions say), or null when there is no span.
   */
  public static java.util.Map<String, Object> meta() {
    SpanRef s = CURRENT.get();
    if (s == null) {
      return null;
    }
    java.util.Map<String, Object> meta = new java.util.LinkedHashMap<>();
    meta.put(TraceHeaders.TRACEPARENT, s.traceparent());
    if (s.traceState() != null) {
      meta.put(TraceHeaders.TRACESTATE, s.traceState());
    }
    return meta;
  }

  @Override
  public String getCurrentTraceId() {
    SpanRef s = CURRENT.get();
    return s == null ? null : s.traceId();
  }

  @Override
  public String getCurrentSpanId() {
    SpanRef s = CURRENT.get();
    return s == null ? null : s.spanId();
  }

  @Override
  public boolean isCurrentSpanSampled() {
    SpanRef s = CURRENT.get();
    return s != null && s.sampled();
  }

  @Override
  public void markCurrentSpanAsExemplar() {
    // Spans here are records written before the meter is read; nothing to mark.
  }
}
