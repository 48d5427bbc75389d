package dev.llmstreams.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ReroutedTest {
  @Test
  void theCounterIsReadPerTopicWhateverItsOtherLabels() {
    String text =
        """
        # HELP llmstreams_records_rerouted_total Input records that arrived on a partition other than their key's
        # TYPE llmstreams_records_rerouted_total counter
        llmstreams_records_rerouted_total{pattern="controller",topic="r.goals"} 12.0
        llmstreams_records_rerouted_total{topic="r.approvals",pattern="controller",} 2.0
        llmstreams_records_rerouted_total{pattern="summarizer",topic="r.documents"} 30.0
        llmstreams_records_rerouted_created{pattern="summarizer",topic="r.documents"} 1.7E9
        llmstreams_store_entries{store="x"} 99.0
        """;

    assertThat(Rerouted.parse(text))
        .containsOnly(
            Map.entry("r.goals", 12.0),
            Map.entry("r.approvals", 2.0),
            Map.entry("r.documents", 30.0));
    assertThat(Rerouted.parse("llmstreams_records_rerouted_total 4.0\n"))
        .containsOnly(Map.entry("?", 4.0));
  }

  @Test
  void eachJvmCountsFromZeroSoTheHighestValueOfEachStartIsSummed() {
    Rerouted rerouted = new Rerouted();
    rerouted.add("a#1", "llmstreams_records_rerouted_total{topic=\"g\"} 5.0\n");
    rerouted.add("a#1", "llmstreams_records_rerouted_total{topic=\"g\"} 9.0\n");
    rerouted.add("b#1", "llmstreams_records_rerouted_total{topic=\"g\"} 4.0\n");
    // a was killed and started again: its new JVM counts from zero.
    rerouted.add("a#2", "llmstreams_records_rerouted_total{topic=\"g\"} 1.0\n");
    rerouted.add(
        "a#2",
        "llmstreams_records_rerouted_total{topic=\"g\"} 3.0\n"
            + "llmstreams_records_rerouted_total{topic=\"d\"} 2.0\n");

    assertThat(rerouted.seen()).isTrue();
    assertThat(rerouted.perTopic()).containsExactly(Map.entry("d", 2L), Map.entry("g", 16L));
    assertThat(rerouted.total()).isEqualTo(18);
  }

  @Test
  void withoutTheCounterNothingIsSeen() {
    Rerouted rerouted = new Rerouted();
    rerouted.add("a#1", "jvm_threads_live_threads 30.0\n");

    assertThat(rerouted.seen()).isFalse();
    assertThat(rerouted.total()).isZero();
  }
}
