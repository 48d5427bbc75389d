package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.streams.TopologyDescription;
import org.junit.jupiter.api.Test;

/** Every source and sink of every topology must be a topic of topics/*.json. */
class TopologiesUseOnlyCatalogTopicsTest {
  /**
   * Sinks whose topic is chosen per record: the publish tool's, which writes only to topics the
   * operator lists in tools.publish.allowed.topics (outside the catalog by design).
   */
  static final Set<String> DYNAMIC_SINKS = Set.of("tools.publish");

  /**
   * Repartition topics Kafka Streams creates for a pattern, explicitly named in its topology; at
   * run time their name starts with the pattern's application id (which carries any topics.prefix),
   * so they never clash with catalog topics.
   */
  static final Set<String> INTERNAL_TOPICS =
      Set.of(dev.llmstreams.specialist.SpecialistTopology.TRAINER_REPARTITION + "-repartition");

  private final TopicCatalog catalog = TopicCatalog.load();

  @Test
  void shouldReadAndWriteOnlyTopicsDeclaredInTheCatalog() {
    AppConfig config = AppConfig.of(Map.of());
    for (String name : AppConfig.ALL_PATTERNS) {
      if (!Patterns.available(name)) {
        continue;
      }
      PatternModule module = Patterns.select(java.util.List.of(name), true).get(0);
      TopologyDescription description =
          module.topology(catalog, config, new SimpleMeterRegistry()).describe();
      module.afterClose();
      Set<String> used = topicsOf(description);
      used.removeAll(INTERNAL_TOPICS);
      used.removeIf(dev.llmstreams.topics.KeyedInput::isRerouted);
      assertThat(used).as("topics of pattern %s", name).isNotEmpty();
      assertThat(catalog.names()).as("pattern %s uses only catalog topics", name).containsAll(used);
    }
  }

  @Test
  void shouldHonourATopicPrefixEverywhere() {
    TopicCatalog prefixed = catalog.withPrefix("tenant-a.");
    for (String name : AppConfig.ALL_PATTERNS) {
      if (Patterns.available(name)) {
        PatternModule module = Patterns.select(java.util.List.of(name), true).get(0);
        Set<String> used =
            topicsOf(
                module
                    .topology(prefixed, AppConfig.of(Map.of()), new SimpleMeterRegistry())
                    .describe());
        module.afterClose();
        assertThat(used)
            .allMatch(
                t ->
                    t.startsWith("tenant-a.")
                        || INTERNAL_TOPICS.contains(t)
                        || dev.llmstreams.topics.KeyedInput.isRerouted(t));
      }
    }
  }

  static Set<String> topicsOf(TopologyDescription description) {
    Set<String> topics = new HashSet<>();
    for (TopologyDescription.GlobalStore global : description.globalStores()) {
      topics.addAll(global.source().topicSet());
    }
    for (TopologyDescription.Subtopology sub : description.subtopologies()) {
      for (TopologyDescription.Node node : sub.nodes()) {
        if (node instanceof TopologyDescription.Source source) {
          topics.addAll(source.topicSet());
        } else if (node instanceof TopologyDescription.Sink sink) {
          if (sink.topic() == null) {
            assertThat(DYNAMIC_SINKS)
                .as("sink %s chooses its topic per record", sink.name())
                .contains(sink.name());
          } else {
            topics.add(sink.topic());
          }
        }
      }
    }
    return topics;
  }
}
