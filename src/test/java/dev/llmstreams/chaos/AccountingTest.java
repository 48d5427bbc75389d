package dev.llmstreams.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AccountingTest {
  @Test
  void anInputWithNoOutputIsLostUnlessADeadLetterNamesIt() {
    Accounting.Count c =
        Accounting.count(List.of("g1", "g2", "g3", "g4"), Map.of("g1", 1, "g3", 1), Set.of("g4"));

    assertThat(c.lost()).containsExactly("g2");
    assertThat(c.deadLettered()).isEqualTo(1);
    assertThat(c.withOutput()).isEqualTo(2);
    assertThat(c.duplicated()).isEmpty();
    assertThat(c.inputs()).isEqualTo(4);
  }

  @Test
  void anInputWithTwoCommittedOutputsIsDuplicatedAndItsOutputsCountTwice() {
    Accounting.Count c =
        Accounting.count(List.of("c1", "c2"), Map.of("c1", 2, "c2", 1, "other-run", 5), Set.of());

    assertThat(c.duplicated()).containsExactly("c1");
    assertThat(c.outputs()).isEqualTo(3); // another run's ids are not counted
    assertThat(c.lost()).isEmpty();
  }

  @Test
  void anOutputWinsOverADeadLetterOfTheSameInput() {
    Accounting.Count c = Accounting.count(List.of("d1"), Map.of("d1", 1), Set.of("d1"));

    assertThat(c.deadLettered()).isZero();
    assertThat(c.lost()).isEmpty();
    assertThat(c.withOutput()).isEqualTo(1);
  }

  @Test
  void aDocumentCountsOnceInItsSynthesisAndAgainForEachExtraCopyOfAChunkRequest() {
    Map<String, Integer> out =
        Accounting.documentOutputs(
            List.of("d1", "d2", "d3", "d4"),
            Set.of("d1", "d2", "d4"),
            Map.of(
                "d1",
                Map.of("k/d1/0", 1, "k/d1/1", 1),
                "d2",
                Map.of("k/d2/0", 1, "k/d2/1", 2),
                "d3",
                Map.of("k/d3/0", 1)));

    assertThat(out).containsOnly(Map.entry("d1", 1), Map.entry("d2", 2), Map.entry("d4", 1));
    Accounting.Count c = Accounting.count(List.of("d1", "d2", "d3", "d4"), out, Set.of());
    assertThat(c.lost()).containsExactly("d3"); // chunked, but never in a synthesis
    assertThat(c.duplicated()).containsExactly("d2");
  }

  @Test
  void poisonIsMissingWhenNoDeadLetterCarriesItsTopicPartitionAndOffset() {
    Accounting.SourceOffset a = new Accounting.SourceOffset("goals", 0, 7);
    Accounting.SourceOffset b = new Accounting.SourceOffset("goals", 1, 7);
    Accounting.SourceOffset c = new Accounting.SourceOffset("documents", 0, 7);

    assertThat(
            Accounting.poisonMissing(
                List.of(a, b, c), Set.of(a, new Accounting.SourceOffset("goals", 1, 8))))
        .containsExactly(c, b);
  }

  @Test
  void aToolCallRanTwiceWhenItHasTwoDifferentResultsOrTwoPublications() {
    Map<String, Map<String, Integer>> results =
        Map.of(
            "g1/0/0", Map.of("{\"worker\":\"a/1\"}", 1),
            "g2/0/0",
                Map.of(
                    "{\"worker\":\"a/1\"}",
                    2), // the worker's stored answer to a resent call: ran once
            "g3/0/0", Map.of("{\"worker\":\"a/1\"}", 1, "{\"worker\":\"b/2\"}", 1));

    assertThat(Accounting.toolCallsRepeated(results, Map.of("g4", 2, "g5", 1)))
        .containsExactly("g3/0/0", "g4");
    assertThat(Accounting.toolResultsRepeated(results)).containsExactly("g2/0/0", "g3/0/0");
  }
}
