package dev.llmstreams.observability.tracing;

import io.prometheus.metrics.tracer.common.SpanContext;

/**
 * The span a stream thread is recording a meter for, so that latency histograms carry its trace id
 * as an exemplar (served in the OpenMetrics format on {@code /metrics}; Grafana opens the trace
 * from the exemplar). Set just around the meter's record call, on the same thread.
 */
public final class CurrentSpan implements SpanContext {
  private static final ThreadLocal<SpanRef> CURRENT = new ThreadLocal<>();

  public static void set(SpanRef span) {
    CURRENT.set(span);
  }

  public static void clear() {
    CURRENT.remove();
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
