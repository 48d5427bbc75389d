package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.topics.KeyedInput;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.TopologyDescription;
import org.junit.jupiter.api.Test;

/** What a pattern makes of keyed inputs whose partition counts differ on the cluster. */
class InputPartitionsTest {
  private final TopicCatalog catalog = TopicCatalog.load();

  private TopologyDescription controller(TopicCatalog deployed) {
    PatternModule module = Patterns.select(List.of("controller"), true).get(0);
    try {
      return module
          .topology(deployed, AppConfig.of(Map.of()), new SimpleMeterRegistry())
          .describe();
    } finally {
      module.afterClose();
    }
  }

  @Test
  void shouldSayNothingWhenTheCountsAreTheCatalogs() {
    for (String pattern : AppConfig.ALL_PATTERNS) {
      if (Patterns.available(pattern)) {
        PatternModule module = Patterns.select(List.of(pattern), true).get(0);
        TopologyDescription d =
            module.topology(catalog, AppConfig.of(Map.of()), new SimpleMeterRegistry()).describe();
        module.afterClose();
        assertThat(InputPartitions.warnings(pattern, d, catalog)).as(pattern).isEmpty();
      }
    }
  }

  @Test
  void shouldWarnOfAnInputWithFewerPartitionsAndKeepStateInTheLargestCount() {
    TopicCatalog deployed = catalog.withPartitions(Map.of("goals", 1));
    assertThat(deployed.keyPartitions(TopicCatalog.CONTROLLER_CO_PARTITIONED)).isEqualTo(6);
    List<String> warnings = InputPartitions.warnings("controller", controller(deployed), deployed);
    assertThat(warnings)
        .singleElement()
        .asString()
        .contains("pattern controller")
        .contains("kept in 6 partitions")
        .contains("goals has 1")
        .contains("llmstreams_records_rerouted_total")
        .contains("--partitions 6");
  }

  @Test
  void shouldPlaceByTheLargestCountWhenAnInputHasMore() {
    TopicCatalog deployed = catalog.withPartitions(Map.of("tool-results", 8));
    assertThat(deployed.keyPartitions(TopicCatalog.CONTROLLER_CO_PARTITIONED)).isEqualTo(8);
    TopologyDescription d = controller(deployed);
    assertThat(InputPartitions.warnings("controller", d, deployed))
        .singleElement()
        .asString()
        .contains("kept in 8 partitions")
        .contains("goals has 6")
        .contains("approvals has 6");
    // Each input has its own re-route topic; the run-goals processor reads them all, besides the
    // inputs.
    List<String> sources =
        d.subtopologies().stream()
            .flatMap(s -> s.nodes().stream())
            .filter(n -> n instanceof TopologyDescription.Source)
            .flatMap(n -> ((TopologyDescription.Source) n).topicSet().stream())
            .toList();
    assertThat(sources.stream().filter(KeyedInput::isRerouted))
        .containsExactlyInAnyOrder(
            "controller.goals.rerouted-repartition",
            "controller.llm-replies.rerouted-repartition",
            "controller.tool-results.rerouted-repartition",
            "controller.approvals.rerouted-repartition",
            "controller.cancellations.rerouted-repartition",
            "controller.human-answers.rerouted-repartition");
  }
}
