package dev.llmstreams.summarizer;

import dev.llmstreams.observability.tracing.SpanRef;
import dev.llmstreams.observability.tracing.Tracing;

/**
 * Where the summarizer starts new spans: in trace {@code traceId}, as children of {@code
 * parentSpanId}, or as roots of that trace when it is null (a document sent without a {@code
 * traceparent}: its chunks, and the work it starts, share one new trace). Kept in state, so the
 * spans of work that comes later (merges, syntheses) land in the same trace.
 *
 * @param sampled the sampling decision taken once for the trace (when the document arrived)
 * @param traceState the W3C {@code tracestate} carried along unchanged; may be null
 */
record TraceContext(String traceId, String parentSpanId, boolean sampled, String traceState) {

  /** The context {@code span} was started in: its trace, under its parent. */
  static TraceContext of(SpanRef span) {
    return new TraceContext(span.traceId(), span.parentSpanId(), span.sampled(), span.traceState());
  }

  /** A new span in this context, started at {@code startEpochNanos}. */
  SpanRef start(Tracing tracing, long startEpochNanos) {
    // A reference standing for the parent, only to hand the trace, parent and sampling to child().
    return tracing.child(
        new SpanRef(traceId, parentSpanId, null, sampled, traceState, startEpochNanos),
        startEpochNanos);
  }
}
