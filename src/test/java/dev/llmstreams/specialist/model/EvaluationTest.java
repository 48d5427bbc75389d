package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvaluationTest {
  @Test
  void shouldScoreAHandComputedExample() {
    TextClassifier model =
        new ScriptedClassifier(
            Map.of(
                "1", ScriptedClassifier.says("a", 0.9),
                "2", ScriptedClassifier.says("b", 0.6),
                "3", ScriptedClassifier.says("b", 0.8),
                "4", ScriptedClassifier.says("b", 0.4)));
    List<LabeledText> truth =
        List.of(
            new LabeledText("1", "a"),
            new LabeledText("2", "a"),
            new LabeledText("3", "b"),
            new LabeledText("4", "b"));

    EvaluationReport r = Evaluation.evaluate(model, truth, 0.5);

    // a: 1 right of 1 predicted and 2 true -> P 1, R 0.5, F1 2/3; b: 2 right of 3 predicted, 2 true
    // -> P 2/3, R 1, F1 0.8.
    assertThat(r.accuracy()).isEqualTo(0.75);
    assertThat(r.perLabel()).containsOnlyKeys("a", "b"); // c is neither true nor predicted
    assertThat(r.perLabel().get("a").precision()).isEqualTo(1.0);
    assertThat(r.perLabel().get("a").recall()).isEqualTo(0.5);
    assertThat(r.perLabel().get("a").f1()).isCloseTo(2.0 / 3, within(1e-12));
    assertThat(r.perLabel().get("b").precision()).isCloseTo(2.0 / 3, within(1e-12));
    assertThat(r.perLabel().get("b").f1()).isCloseTo(0.8, within(1e-12));
    assertThat(r.perLabel().get("b").support()).isEqualTo(2);
    assertThat(r.macroF1()).isCloseTo((2.0 / 3 + 0.8) / 2, within(1e-12));
    // Kept at 0.5: texts 1 (right), 2 (wrong), 3 (right).
    assertThat(r.coverageAtThreshold()).isEqualTo(0.75);
    assertThat(r.accuracyAtThreshold()).isCloseTo(2.0 / 3, within(1e-12));
    assertThat(r.threshold()).isEqualTo(0.5);
    assertThat(r.eventsPerS()).isPositive();
  }

  @Test
  void shouldWriteExactlyTheSnakeCaseKeys() {
    TextClassifier model = new ScriptedClassifier(Map.of("1", ScriptedClassifier.says("a", 0.9)));

    EvaluationReport r = Evaluation.evaluate(model, List.of(new LabeledText("1", "a")), 0.95);

    assertThat(r.toJson().properties())
        .extracting(Map.Entry::getKey)
        .containsExactly(
            "accuracy",
            "macro_f1",
            "per_label",
            "events_per_s",
            "coverage_at_threshold",
            "accuracy_at_threshold",
            "threshold",
            "stage_shares");
    assertThat(r.toJson().get("per_label").get("a").properties())
        .extracting(Map.Entry::getKey)
        .containsExactly("precision", "recall", "f1", "support");
    assertThat(r.coverageAtThreshold()).isZero();
    assertThat(r.accuracyAtThreshold()).isZero();
  }
}
