package dev.llmstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.runtime.text.Rouge;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class QualityBenchTest {
  @Test
  void shouldCutATranscriptAtLineEndsWithoutLosingALine() {
    String transcript =
        "A: one two three\nB: four five\nC: six\nD: a line longer than the limit on its own";
    List<String> parts = QualityBench.parts(transcript, 20);
    assertThat(parts)
        .containsExactly(
            "A: one two three",
            "B: four five\nC: six",
            "D: a line longer than the limit on its own");
    assertThat(String.join("\n", parts)).isEqualTo(transcript);
  }

  @Test
  void shouldBundleQmsumMeetingsWithTheirReferences() throws Exception {
    List<QualityBench.Meeting> meetings = QualityBench.meetings();
    assertThat(meetings)
        .hasSize(6)
        .allSatisfy(
            m -> {
              assertThat(m.transcript()).contains(": ");
              assertThat(Rouge.tokens(m.reference())).hasSizeGreaterThan(20);
            });
  }

  @Test
  void shouldScoreTheSynthesisAndALeadOfTheSameLength() {
    QualityBench.Meeting m =
        new QualityBench.Meeting("M1", "the cat sat on the mat today", "the cat was on the mat");
    Synthesis s =
        new Synthesis(
            "M1",
            null,
            "cat on the mat",
            1,
            1,
            1,
            List.of("M1-part-001"),
            Synthesis.sourceDigest(List.of("M1-part-001")),
            10,
            "offline/offline-engine",
            Instant.EPOCH);
    ObjectNode report =
        QualityBench.report(
            List.of(m), Map.of("M1", List.of(m.transcript())), Map.of("M1", s), "offline");
    assertThat(report.path("provider").asText()).isEqualTo("offline");
    assertThat(report.path("synthesis_models").get(0).asText()).isEqualTo("offline/offline-engine");
    // Synthesis: 4 tokens all in the 6 of the reference: P 1, R 4/6, F1 0.8. Lead "the cat sat on":
    // 3 of 4, R 3/6.
    var row = report.path("meetings").get(0);
    assertThat(row.path("synthesis").path("rouge1_recall").asDouble()).isEqualTo(0.667);
    assertThat(row.path("synthesis").path("rouge1_f1").asDouble()).isEqualTo(0.8);
    assertThat(row.path("lead").path("rouge1_recall").asDouble()).isEqualTo(0.5);
    assertThat(report.path("mean").path("lead").path("rouge1_recall").asDouble()).isEqualTo(0.5);
  }
}
