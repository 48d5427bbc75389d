package dev.llmstreams.observability.tracing;

import dev.llmstreams.events.SpanRecord;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import java.util.Optional;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * The sink a processor writes its spans to: the {@code spans} topic, through the Streams producer,
 * so a span commits (or aborts) with the records of the work it describes.
 */
public final class SpanSink {
  private SpanSink() {}

  /** Adds the spans sink {@code name} fed by {@code parents}. */
  public static void add(Topology topology, TopicCatalog catalog, String name, String... parents) {
    Topic<SpanRecord> spans = catalog.topic(Topics.SPANS);
    topology.addSink(
        name, spans.name(), spans.keySerde().serializer(), spans.sinkSerializer(), parents);
  }

  /** Forwards a finished span (if one was recorded) to the spans sink, keyed by its trace id. */
  public static void emit(
      ProcessorContext<String, Object> context,
      String sink,
      Optional<SpanRecord> span,
      long timestamp) {
    span.ifPresent(
        s ->
            context.forward(
                new Record<String, Object>(
                    s.traceId(),
                    s,
                    timestamp,
                    new org.apache.kafka.common.header.internals.RecordHeaders()),
                sink));
  }
}
