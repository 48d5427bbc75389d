package dev.llmstreams.app;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.topics.DeadLetters;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import org.apache.kafka.streams.TopologyDescription;

/**
 * What each pattern's topology reads and writes, taken from the topology itself ({@code
 * describe()}): the generated docs draw it, and {@code acls} grants exactly it.
 */
final class Flows {
  private Flows() {}

  /**
   * What one pattern's topology reads and writes, catalog topics only (internal ones left out).
   *
   * @param dynamicSinks sinks whose topic is chosen per record (e.g. {@code tools.publish})
   * @param deadLetters where the pattern's error handlers write failed records
   */
  record Flow(
      String pattern,
      SortedSet<String> reads,
      SortedSet<String> writes,
      SortedSet<String> dynamicSinks,
      String deadLetters) {}

  /**
   * The flows of {@code patterns} (those of this build, in the order given), each built from the
   * pattern's topology under {@code config}; dead letters from the Streams settings each pattern
   * runs with. Builds topologies only: no I/O.
   */
  static List<Flow> of(TopicCatalog catalog, AppConfig config, List<String> patterns) {
    List<Flow> flows = new ArrayList<>();
    for (String name : patterns) {
      if (!Patterns.available(name)) {
        continue;
      }
      var module = Patterns.select(List.of(name), true).get(0);
      TopologyDescription description;
      try {
        description = module.topology(catalog, config, new SimpleMeterRegistry()).describe();
      } finally {
        module.afterClose();
      }
      SortedSet<String> reads = new TreeSet<>();
      SortedSet<String> writes = new TreeSet<>();
      SortedSet<String> dynamic = new TreeSet<>();
      for (TopologyDescription.GlobalStore global : description.globalStores()) {
        reads.addAll(global.source().topicSet());
      }
      for (TopologyDescription.Subtopology sub : description.subtopologies()) {
        for (TopologyDescription.Node node : sub.nodes()) {
          if (node instanceof TopologyDescription.Source source) {
            if (source.topicPattern() != null) {
              throw new IllegalStateException(
                  name + ": source " + source.name() + " reads a topic pattern");
            }
            reads.addAll(source.topicSet());
          } else if (node instanceof TopologyDescription.Sink sink) {
            if (sink.topic() != null) {
              writes.add(sink.topic());
            } else {
              dynamic.add(sink.name());
            }
          }
        }
      }
      // Repartition topics (the re-routes of KeyedInput, the trainer's): written and read by the
      // same topology.
      Set<String> internal = new TreeSet<>(reads);
      internal.retainAll(writes);
      internal.removeAll(catalog.names());
      reads.removeAll(internal);
      writes.removeAll(internal);
      Set<String> unknown = new TreeSet<>(reads);
      unknown.addAll(writes);
      unknown.removeAll(catalog.names());
      if (!unknown.isEmpty()) {
        throw new IllegalStateException(
            "pattern " + name + " uses topics outside the catalog: " + unknown);
      }
      Properties settings =
          StreamsSettings.forPattern(config, catalog, name, new SimpleMeterRegistry());
      Object deadLetters = settings.get(DeadLetters.TOPIC_CONFIG);
      flows.add(
          new Flow(
              name, reads, writes, dynamic, deadLetters == null ? null : deadLetters.toString()));
    }
    return flows;
  }
}
