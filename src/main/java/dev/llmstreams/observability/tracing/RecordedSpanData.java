package dev.llmstreams.observability.tracing;

import dev.llmstreams.events.SpanRecord;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.sdk.common.InstrumentationLibraryInfo;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.data.StatusData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A {@link SpanRecord} read back from the spans topic, as the SDK's exporters take it. */
@SuppressWarnings("deprecation") // SpanData still declares getInstrumentationLibraryInfo abstract
final class RecordedSpanData implements SpanData {
  static final InstrumentationScopeInfo SCOPE =
      InstrumentationScopeInfo.builder("dev.llmstreams").setVersion("0.1.0").build();

  private final SpanRecord span;
  private final Resource resource;
  private final Attributes attributes;
  private final List<LinkData> links;
  private final SpanContext context;
  private final SpanContext parent;

  RecordedSpanData(SpanRecord span, Resource resource) {
    this.span = span;
    this.resource = resource;
    this.attributes = attributes(span.attributes());
    TraceState state =
        span.traceState() == null
            ? TraceState.getDefault()
            : TraceHeaders.context(
                    "00-" + span.traceId() + "-" + span.spanId() + "-01", span.traceState())
                .getTraceState();
    this.context =
        SpanContext.create(span.traceId(), span.spanId(), TraceFlags.getSampled(), state);
    this.parent =
        span.parentSpanId() == null
            ? SpanContext.getInvalid()
            : SpanContext.createFromRemoteParent(
                span.traceId(), span.parentSpanId(), TraceFlags.getSampled(), state);
    List<LinkData> l = new ArrayList<>();
    for (SpanRecord.Link link : span.links()) {
      l.add(
          LinkData.create(
              SpanContext.createFromRemoteParent(
                  link.traceId(), link.spanId(), TraceFlags.getSampled(), TraceState.getDefault()),
              attributes(link.attributes())));
    }
    this.links = List.copyOf(l);
  }

  static Attributes attributes(Map<String, Object> values) {
    AttributesBuilder b = Attributes.builder();
    for (Map.Entry<String, Object> e : values.entrySet()) {
      String k = e.getKey();
      Object v = e.getValue();
      if (v instanceof String s) {
        b.put(k, s);
      } else if (v instanceof Boolean bool) {
        b.put(k, bool);
      } else if (v instanceof Integer || v instanceof Long || v instanceof Short) {
        b.put(k, ((Number) v).longValue());
      } else if (v instanceof Number n) {
        b.put(k, n.doubleValue());
      } else if (v instanceof List<?> list) {
        b.put(AttributeKey.stringArrayKey(k), list.stream().map(String::valueOf).toList());
      } else if (v != null) {
        b.put(k, String.valueOf(v));
      }
    }
    return b.build();
  }

  @Override
  public String getName() {
    return span.name();
  }

  @Override
  public SpanKind getKind() {
    return SpanKind.valueOf(span.kind());
  }

  @Override
  public SpanContext getSpanContext() {
    return context;
  }

  @Override
  public SpanContext getParentSpanContext() {
    return parent;
  }

  @Override
  public StatusData getStatus() {
    StatusCode code = StatusCode.valueOf(span.status());
    return span.statusMessage() == null
        ? StatusData.create(code, "")
        : StatusData.create(code, span.statusMessage());
  }

  @Override
  public long getStartEpochNanos() {
    return span.startEpochNanos();
  }

  @Override
  public Attributes getAttributes() {
    return attributes;
  }

  @Override
  public List<EventData> getEvents() {
    return List.of();
  }

  @Override
  public List<LinkData> getLinks() {
    return links;
  }

  @Override
  public long getEndEpochNanos() {
    return span.endEpochNanos();
  }

  @Override
  public boolean hasEnded() {
    return true;
  }

  @Override
  public int getTotalRecordedEvents() {
    return 0;
  }

  @Override
  public int getTotalRecordedLinks() {
    return links.size();
  }

  @Override
  public int getTotalAttributeCount() {
    return attributes.size();
  }

  @Override
  public InstrumentationLibraryInfo getInstrumentationLibraryInfo() {
    return InstrumentationLibraryInfo.create(SCOPE.getName(), SCOPE.getVersion());
  }

  @Override
  public InstrumentationScopeInfo getInstrumentationScopeInfo() {
    return SCOPE;
  }

  @Override
  public Resource getResource() {
    return resource;
  }
}
