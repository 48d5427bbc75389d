package dev.llmstreams.specialist;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.Usage;
import dev.llmstreams.specialist.model.ScriptedClassifier;
import dev.llmstreams.specialist.model.TextClassifier;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClassificationReplayTest {
  private static Classification recorded(String id, String label, boolean llm) {
    return new Classification(
        id,
        label,
        0.8,
        List.of(),
        llm ? "gpt-x" : "v1",
        llm ? Classification.Source.LLM : Classification.Source.SPECIALIST,
        100,
        llm ? "confidence 0.30 < 0.50" : null,
        llm ? new Usage(10, 2) : null);
  }

  @Test
  void shouldCompareTheCandidateWithWhatWasRecordedAndWithPeoplesLabels() {
    TextClassifier candidate =
        new ScriptedClassifier(
            "candidate-2",
            Map.of(
                "t1", ScriptedClassifier.says("a", 0.9),
                "t2", ScriptedClassifier.says("b", 0.9),
                "t3", ScriptedClassifier.says("a", 0.2),
                "t4", ScriptedClassifier.says("b", 0.7)));
    List<ClassificationReplay.Recorded> slice =
        List.of(
            // agrees with the recorded specialist label; the person says a too
            new ClassificationReplay.Recorded("e1", "t1", recorded("e1", "a", false), "a"),
            // differs from the recorded LLM label; the person sides with the candidate
            new ClassificationReplay.Recorded("e|2", "t2", recorded("e|2", "a", true), "b"),
            // agrees with the recorded specialist label but would escalate
            new ClassificationReplay.Recorded("e3", "t3", recorded("e3", "a", false), null),
            // never recorded (still waiting, or dead-lettered)
            new ClassificationReplay.Recorded("e4", "t4", null, null));

    ClassificationReplay.Report report = ClassificationReplay.run(candidate, 0.5, slice, 1);

    JsonNode totals = report.totals();
    assertThat(totals.path("requests").asInt()).isEqualTo(4);
    assertThat(totals.path("unreadable").asInt()).isEqualTo(1);
    assertThat(totals.path("recorded").asInt()).isEqualTo(3);
    assertThat(totals.path("not_recorded").asInt()).isEqualTo(1);
    assertThat(totals.path("agreement").asDouble()).isEqualTo(2.0 / 3);
    assertThat(totals.path("agreement_with_recorded_specialist").asDouble()).isEqualTo(1.0);
    assertThat(totals.path("agreement_with_recorded_llm").asDouble()).isEqualTo(0.0);
    assertThat(totals.path("recorded_escalated").asInt()).isEqualTo(1);
    assertThat(totals.path("candidate_coverage").asDouble()).isEqualTo(0.75);
    assertThat(totals.path("candidate_would_escalate").asInt()).isEqualTo(1);
    assertThat(totals.path("human_labels").asInt()).isEqualTo(2);
    assertThat(totals.path("recorded_accuracy_on_human_labels").asDouble()).isEqualTo(0.5);
    assertThat(totals.path("candidate_accuracy_on_human_labels").asDouble()).isEqualTo(1.0);

    JsonNode items = report.toJson().path("items");
    assertThat(items).hasSize(4);
    assertThat(items.get(1).path("agrees").asBoolean()).isFalse();
    assertThat(items.get(3).has("recorded")).isFalse();
    assertThat(items.get(3).has("agrees")).isFalse();

    String md = report.toMarkdown(10);
    assertThat(md).contains("| agreement | 0.6666666666666666 |");
    assertThat(md).contains("| e\\|2 | a (llm 0.80) | b (0.90) | b |");
    assertThat(md).contains("Where they differ (first 1)");

    Classification kept =
        ClassificationReplay.asClassification(
            report.items().get(0), report.candidateVersion(), 0.5);
    assertThat(kept.modelVersion()).isEqualTo("candidate-2");
    assertThat(kept.escalationReason()).isNull();
    Classification unsure =
        ClassificationReplay.asClassification(
            report.items().get(2), report.candidateVersion(), 0.5);
    assertThat(unsure.escalationReason())
        .startsWith("replay: would escalate, confidence 0.20 < 0.50")
        .endsWith("(not sent to an LLM in a replay)");
  }
}
