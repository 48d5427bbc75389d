package dev.llmstreams.observability.tracing;

import dev.llmstreams.events.SpanRecord;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.IdGenerator;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.opentelemetry.sdk.trace.samplers.SamplingDecision;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.header.Headers;

/**
 * How one Streams application takes part in traces. Every record it writes continues the trace of
 * the input that caused it ({@link TraceHeaders}); when {@link #recording()} it also records spans
 * as {@link SpanRecord}s, which its topology writes to the {@code spans} topic in the same
 * transaction as the work they describe.
 *
 * <p>Span ids are random (OpenTelemetry's id generator); a span that covers several records (a
 * goal) gets its id when it starts and keeps it in state as a {@link SpanRef}, so its children,
 * written meanwhile, point at the span that is recorded at the end.
 */
public final class Tracing {
  private static final IdGenerator IDS = IdGenerator.random();

  private final boolean recording;
  private final Sampler sampler;
  private final boolean captureContent;
  private final String service;
  private final String instance;

  private Tracing(
      boolean recording, Sampler sampler, boolean captureContent, String service, String instance) {
    this.recording = recording;
    this.sampler = sampler;
    this.captureContent = captureContent;
    this.service = service;
    this.instance = instance;
  }

  /** Writes trace context on outputs but records no span. */
  public static Tracing off(String service) {
    return new Tracing(false, Sampler.alwaysOff(), false, service, instance());
  }

  /** Records spans of traces the sampler keeps. */
  public static Tracing recording(String service, Sampler sampler, boolean captureContent) {
    return new Tracing(true, sampler, captureContent, service, instance());
  }

  private static String instance() {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      host = "unknown-host";
    }
    return host + "/" + ProcessHandle.current().pid();
  }

  public boolean recording() {
    return recording;
  }

  /** Whether prompts, completions and tool arguments and results go on spans (off by default). */
  public boolean captureContent() {
    return captureContent;
  }

  public String service() {
    return service;
  }

  /**
   * Starts the span of the work an input record causes: a child of the context its headers carry,
   * or the root of a new trace when they carry none (or a malformed one).
   */
  public SpanRef start(Headers input, String name, SpanKind kind, long startEpochNanos) {
    return start(TraceHeaders.read(input), name, kind, startEpochNanos);
  }

  /** Starts a span under {@code parent} (an invalid context starts a new trace). */
  public SpanRef start(SpanContext parent, String name, SpanKind kind, long startEpochNanos) {
    boolean hasParent = parent != null && parent.isValid();
    String traceId = hasParent ? parent.getTraceId() : IDS.generateTraceId();
    Context parentContext = hasParent ? Context.root().with(Span.wrap(parent)) : Context.root();
    boolean sampled =
        recording
            ? sampler
                    .shouldSample(parentContext, traceId, name, kind, Attributes.empty(), List.of())
                    .getDecision()
                == SamplingDecision.RECORD_AND_SAMPLE
            : hasParent && parent.isSampled();
    return new SpanRef(
        traceId,
        IDS.generateSpanId(),
        hasParent ? parent.getSpanId() : null,
        sampled,
        hasParent ? TraceHeaders.traceState(parent) : null,
        startEpochNanos);
  }

  /** A child span of {@code parent} in the same trace (work inside this application). */
  public SpanRef child(SpanRef parent, long startEpochNanos) {
    return new SpanRef(
        parent.traceId(),
        IDS.generateSpanId(),
        parent.spanId(),
        parent.sampled(),
        parent.traceState(),
        startEpochNanos);
  }

  /** Describes the span {@code ref} started; {@link Builder#end} records it. */
  public Builder span(SpanRef ref, String name, SpanKind kind) {
    return new Builder(ref, name, kind);
  }

  /** Epoch nanoseconds of a wall-clock time in milliseconds. */
  public static long nanos(long epochMillis) {
    return epochMillis * 1_000_000L;
  }

  /** The attributes, status and links of one span, then its end. */
  public final class Builder {
    private final SpanRef ref;
    private final String name;
    private final SpanKind kind;
    private final Map<String, Object> attributes = new LinkedHashMap<>();
    private final List<SpanRecord.Link> links = new ArrayList<>();
    private String status = "UNSET";
    private String statusMessage;

    private Builder(SpanRef ref, String name, SpanKind kind) {
      this.ref = ref;
      this.name = name;
      this.kind = kind;
    }

    /** Sets an attribute; a null value is left out. */
    public Builder attr(String key, Object value) {
      if (value != null) {
        attributes.put(key, value); // SpanRecord stores it as an OpenTelemetry type
      }
      return this;
    }

    /** Sets an attribute only when content capture is on (prompts, completions, arguments). */
    public Builder content(String key, Object value) {
      return captureContent ? attr(key, value) : this;
    }

    /** Marks the span failed, with the low-cardinality {@code error.type} and a message. */
    public Builder error(String errorType, String message) {
      status = "ERROR";
      statusMessage = message;
      return attr("error.type", errorType == null ? "_OTHER" : errorType);
    }

    public Builder ok() {
      status = "OK";
      return this;
    }

    /** Links this span to another span (e.g. an input of a merge, in its own trace). */
    public Builder link(SpanRef other) {
      if (other != null && other.sampled()) {
        links.add(new SpanRecord.Link(other.traceId(), other.spanId(), Map.of()));
      }
      return this;
    }

    /** The finished span, or empty when nothing is recorded (tracing off, trace not sampled). */
    public Optional<SpanRecord> end(long endEpochNanos) {
      if (!recording || !ref.sampled()) {
        return Optional.empty();
      }
      return Optional.of(
          new SpanRecord(
              ref.traceId(),
              ref.spanId(),
              ref.parentSpanId(),
              ref.traceState(),
              name,
              kind.name(),
              ref.startEpochNanos(),
              Math.max(endEpochNanos, ref.startEpochNanos()),
              status,
              statusMessage,
              attributes,
              links,
              service,
              instance));
    }
  }
}
