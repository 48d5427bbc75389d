package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.events.ModelPromotion;
import dev.llmstreams.events.ModelPromotion.Decision;
import dev.llmstreams.events.ModelPromotion.Scores;
import dev.llmstreams.events.ScoredLabel;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PromotionGateTest {
  private static final Instant AT = Instant.parse("2026-12-05T10:00:00Z");
  private static final PromotionGate GATE = new PromotionGate(0.01, 50);

  private static Scores scores(Double kept, double coverage) {
    return new Scores(0.9, kept, coverage, 0.5);
  }

  private static ModelPromotion decide(Scores candidate, Scores incumbent) {
    return GATE.decide(candidate, incumbent, "v1", 5000, AT, "trainer");
  }

  @Test
  void shouldPromoteACandidateAtLeastAsGoodOnKeptAccuracyAndCoverageWithinTheTolerance() {
    assertThat(decide(scores(0.97, 0.90), scores(0.97, 0.90)).decision())
        .isEqualTo(Decision.PROMOTED);
    ModelPromotion slightlyWorse = decide(scores(0.965, 0.895), scores(0.97, 0.90));
    assertThat(slightlyWorse.decision()).isEqualTo(Decision.PROMOTED);
    assertThat(slightlyWorse.reason()).startsWith("at least as good as v1 on 5000 events");
    assertThat(slightlyWorse.incumbentVersion()).isEqualTo("v1");
    assertThat(slightlyWorse.examples()).isEqualTo(5000);
  }

  @Test
  void shouldRejectACandidateWorseOnEitherCountAndSayWhich() {
    ModelPromotion lessAccurate = decide(scores(0.95, 0.95), scores(0.97, 0.90));
    assertThat(lessAccurate.decision()).isEqualTo(Decision.REJECTED);
    assertThat(lessAccurate.reason())
        .startsWith("worse than v1: kept accuracy 0.9500 < 0.9700 - 0.01")
        .doesNotContain("coverage 0.9500 <");
    ModelPromotion keepsLess = decide(scores(0.99, 0.80), scores(0.97, 0.90));
    assertThat(keepsLess.decision()).isEqualTo(Decision.REJECTED);
    assertThat(keepsLess.reason()).startsWith("worse than v1: coverage 0.8000 < 0.9000 - 0.02");
    assertThat(keepsLess.reason())
        .endsWith("it keeps less, more accurately: a different trade-off, not an improvement");
    assertThat(lessAccurate.reason())
        .endsWith("it keeps more, less accurately: a different trade-off, not an improvement");
  }

  @Test
  void shouldNotCountADifferenceChanceExplainsOnFewEventsAsWorse() {
    // 2 points lower kept accuracy: worse on 5,000 events, noise on 100.
    Scores candidate = scores(0.95, 0.9);
    Scores incumbent = scores(0.97, 0.9);
    assertThat(GATE.decide(candidate, incumbent, "v1", 5000, AT, "trainer").decision())
        .isEqualTo(Decision.REJECTED);
    assertThat(GATE.decide(candidate, incumbent, "v1", 100, AT, "trainer").decision())
        .isEqualTo(Decision.PROMOTED);
    // A model that labels at random is worse on 100 events too.
    assertThat(GATE.decide(scores(0.1, 0.9), incumbent, "v1", 100, AT, "trainer").decision())
        .isEqualTo(Decision.REJECTED);
  }

  @Test
  void shouldTreatAModelThatKeepsNothingAsMakingNoMistakesButCoveringNothing() {
    // The candidate escalates everything: nothing kept wrong, but it covers nothing.
    assertThat(decide(scores(null, 0.0), scores(0.97, 0.90)).decision())
        .isEqualTo(Decision.REJECTED);
    // The model in service escalates everything: a candidate keeping some must be right on them.
    assertThat(decide(scores(0.995, 0.3), scores(null, 0.0)).decision())
        .isEqualTo(Decision.PROMOTED);
    assertThat(decide(scores(0.9, 0.3), scores(null, 0.0)).decision()).isEqualTo(Decision.REJECTED);
  }

  @Test
  void shouldRejectForLackOfEvidenceAndPromoteWhenNothingIsInService() {
    ModelPromotion few = GATE.decide(scores(1.0, 1.0), scores(0.5, 0.5), "v1", 49, AT, "trainer");
    assertThat(few.decision()).isEqualTo(Decision.REJECTED);
    assertThat(few.reason()).contains("49 labelled events").contains("at least 50");
    ModelPromotion first = GATE.decide(null, null, null, 0, AT, "train --publish");
    assertThat(first.decision()).isEqualTo(Decision.PROMOTED);
    assertThat(first.reason()).isEqualTo("no model in service");
    assertThat(first.decidedBy()).isEqualTo("train --publish");
    assertThatThrownBy(() -> new PromotionGate(1.0, 50)).hasMessageContaining("tolerance");
    assertThatThrownBy(() -> new PromotionGate(0.01, 0)).hasMessageContaining("minExamples");
  }

  @Test
  void shouldScoreAtTheThresholdKeepingSettledPredictionsWhateverItSays() {
    Map<String, Prediction> answers =
        Map.of(
            "a", new Prediction("x", 0.9, List.of(new ScoredLabel("x", 0.9))),
            "b", new Prediction("y", 0.4, List.of(new ScoredLabel("y", 0.4))),
            "c", new Prediction("x", 0.3, List.of(new ScoredLabel("x", 0.3)), "hashed", true),
            "d", new Prediction("x", 0.2, List.of(new ScoredLabel("x", 0.2))));
    TextClassifier model = new ScriptedClassifier(answers);
    List<LabeledText> truth =
        List.of(
            new LabeledText("a", "x"),
            new LabeledText("b", "x"),
            new LabeledText("c", "y"),
            new LabeledText("d", "x"));
    Scores s = PromotionGate.score(model, truth, 0.5);
    // kept: a (right) and c (settled, wrong); right overall: a and d
    assertThat(s.coverage()).isEqualTo(0.5);
    assertThat(s.keptAccuracy()).isEqualTo(0.5);
    assertThat(s.accuracy()).isEqualTo(0.5);
    assertThat(s.threshold()).isEqualTo(0.5);
    Scores none = PromotionGate.score(model, List.of(new LabeledText("d", "x")), 0.5);
    assertThat(none.coverage()).isZero();
    assertThat(none.keptAccuracy()).isNull();
  }

  @Test
  void shouldCountEscalatingAnOutOfScopeEventAsRightAndKeepingItAsAMistake() {
    Map<String, Prediction> answers =
        Map.of(
            "a", ScriptedClassifier.says("a", 0.9),
            "b", ScriptedClassifier.says("b", 0.3),
            "n1", ScriptedClassifier.says("a", 0.2),
            "n2", ScriptedClassifier.says("b", 0.8));
    TextClassifier model = new ScriptedClassifier(answers);
    List<LabeledText> truth =
        List.of(
            new LabeledText("a", "a"),
            new LabeledText("b", "b"),
            new LabeledText("n1", "none"),
            new LabeledText("n2", "none"));

    Scores plain = PromotionGate.score(model, truth, 0.5);
    Scores judged = PromotionGate.score(model, truth, 0.5, "none");

    // Without the label: n1's escalation costs coverage (2 of 4 kept).
    assertThat(plain.coverage()).isEqualTo(0.5);
    // With it: coverage over a and b (1 of 2), kept a (right) and n2 (kept out of scope: wrong).
    assertThat(judged.coverage()).isEqualTo(0.5);
    assertThat(judged.keptAccuracy()).isEqualTo(0.5);
    assertThat(judged.accuracy()).isEqualTo(1.0);
    Scores escalatesBoth =
        PromotionGate.score(
            new ScriptedClassifier(
                Map.of(
                    "a", ScriptedClassifier.says("a", 0.9),
                    "b", ScriptedClassifier.says("b", 0.9),
                    "n1", ScriptedClassifier.says("a", 0.2),
                    "n2", ScriptedClassifier.says("b", 0.2))),
            truth,
            0.5,
            "none");
    assertThat(escalatesBoth.coverage()).isEqualTo(1.0);
    assertThat(escalatesBoth.keptAccuracy()).isEqualTo(1.0);
  }
}
