package dev.llmstreams.observability.tracing;

import io.opentelemetry.api.trace.SpanContext;

/**
 * Where one unit of work sits in its trace: its own span id, its parent, whether the trace is
 * sampled, and when it started. Kept in state for work that spans several records (a goal, an LLM
 * call waiting for its provider), so that the span is recorded once, at the end, from what was
 * committed, whatever crashed in between.
 *
 * @param parentSpanId the span this one continues (from the input's {@code traceparent}), or null
 *     for a root
 * @param traceState the W3C {@code tracestate} of the input, carried along unchanged; may be null
 */
public record SpanRef(
    String traceId,
    String spanId,
    String parentSpanId,
    boolean sampled,
    String traceState,
    long startEpochNanos) {

  /** The W3C {@code traceparent} header value that makes this span the parent of a record. */
  public String traceparent() {
    return "00-" + traceId + "-" + spanId + (sampled ? "-01" : "-00");
  }

  /** This span as an OpenTelemetry span context (remote: it may live in another process). */
  public SpanContext spanContext() {
    return TraceHeaders.context(traceparent(), traceState);
  }
}
