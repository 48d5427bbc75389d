package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.runtime.text.SentenceEncoder;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The cascade on 15 Banking77 labels (seconds to train): its hashed first stage decides what it is
 * sure of, the ensemble the rest; with out-of-scope calibration it keeps few events of 10 labels it
 * never saw. {@code bench specialist} measures the same on all 77 labels.
 */
class CascadeModelTest {
  private static final SentenceEncoder ENCODER = new SentenceEncoder();

  /** A strict bound, so that the effect is plain on 10 unseen labels. */
  private static final double KEPT = 0.10;

  private static List<LabeledText> test;
  private static List<String> unknown;
  private static TrainedModel cascade;
  private static TrainedModel uncalibrated;

  @BeforeAll
  static void train() {
    List<LabeledText> all = LabeledData.classpath(LabeledData.BANKING77_TRAIN);
    List<String> labels = all.stream().map(LabeledText::label).distinct().toList();
    Set<String> known = labels.stream().limit(15).collect(Collectors.toSet());
    Set<String> never = labels.stream().skip(15).limit(10).collect(Collectors.toSet());
    List<LabeledText> train = all.stream().filter(e -> known.contains(e.label())).toList();
    List<LabeledText> allTest = LabeledData.classpath(LabeledData.BANKING77_TEST);
    test = allTest.stream().filter(e -> known.contains(e.label())).toList();
    unknown =
        allTest.stream().filter(e -> never.contains(e.label())).map(LabeledText::text).toList();
    TrainingOptions options = TrainingOptions.defaults().withOutOfScope(3, KEPT);
    cascade = ModelTrainer.train("banking15", train, options, m -> {}, ENCODER, Clock.systemUTC());
    uncalibrated =
        ModelTrainer.train(
            "banking15", train, options.withOutOfScope(0, 1), m -> {}, ENCODER, Clock.systemUTC());
  }

  @AfterAll
  static void close() {
    ENCODER.close();
  }

  @Test
  void shouldBeTheDefaultKindAndKeepItsStagesInTheRecord() {
    SpecialistClassifier model = (SpecialistClassifier) cascade.classifier();
    SpecialistClassifier loaded = SpecialistModels.load(cascade.record(), ENCODER);

    assertThat(TrainingOptions.defaults().kind()).isEqualTo(ModelKind.CASCADE);
    assertThat(cascade.record().format()).isEqualTo("specialist-cascade-v1");
    assertThat(model.members())
        .extracting(m -> m.scorer().type())
        .containsExactly(HashedScorer.TYPE, EmbeddingScorer.TYPE);
    assertThat(loaded.stageThreshold()).isEqualTo(model.stageThreshold());
    assertThat(model.stageThreshold()).isLessThan(1);
    assertThat(cascade.record().metrics().get("stageThreshold").asDouble())
        .isEqualTo(model.stageThreshold());
    List<String> probes = test.stream().limit(60).map(LabeledText::text).toList();
    assertThat(probes.stream().map(loaded::predict).toList())
        .isEqualTo(probes.stream().map(model::predict).toList());
  }

  @Test
  void shouldLetTheHashedStageDecideWhatItIsSureOfAndTheEnsembleTheRest() {
    SpecialistClassifier model = (SpecialistClassifier) cascade.classifier();
    List<String> texts = test.stream().map(LabeledText::text).toList();

    List<Prediction> one = texts.stream().map(model::predict).toList();
    List<Prediction> batched = model.predictAll(texts);

    assertThat(one).extracting(Prediction::stage).containsOnly("hashed", "ensemble");
    for (Prediction p : one) {
      assertThat(p.settled()).isEqualTo(p.stage().equals("hashed"));
      if (p.settled()) {
        assertThat(p.confidence()).isGreaterThanOrEqualTo(model.stageThreshold());
      }
    }
    long first = one.stream().filter(Prediction::settled).count();
    assertThat(first).isGreaterThan(texts.size() / 3).isLessThan(texts.size());
    // Batched, the ensemble's texts are embedded together: same labels and stages.
    assertThat(batched)
        .extracting(Prediction::label)
        .isEqualTo(one.stream().map(Prediction::label).toList());
    assertThat(batched)
        .extracting(Prediction::stage)
        .isEqualTo(one.stream().map(Prediction::stage).toList());

    EvaluationReport r = Evaluation.evaluate(model, test, model.recommendedThreshold());
    assertThat(r.stageShares().get("hashed")).isEqualTo(first / (double) texts.size());
    assertThat(r.stageShares().get("hashed") + r.stageShares().get("ensemble"))
        .isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-9));
    assertThat(r.accuracyAtThreshold()).isGreaterThanOrEqualTo(0.95);
    assertThat(cascade.dev().stageShares()).containsKeys("hashed", "ensemble");
  }

  @Test
  void shouldFollowAGivenRouteWhenTimedAlongHeldOutPredictions() {
    SpecialistClassifier model = (SpecialistClassifier) cascade.classifier();
    for (LabeledText e : test.subList(0, 40)) {
      Prediction served = model.predict(e.text());
      Prediction first = model.predict(e.text(), true);
      Prediction all = model.predict(e.text(), false);

      assertThat(model.predict(e.text(), null)).isEqualTo(served);
      assertThat(first.stage()).isEqualTo("hashed");
      assertThat(first.settled()).isTrue();
      assertThat(all.stage()).isEqualTo("ensemble");
      assertThat(all.settled()).isFalse();
      assertThat(served).isEqualTo(served.settled() ? first : all);
    }
  }

  @Test
  void shouldKeepFewEventsOfLabelsItNeverSawOnceCalibratedForThem() {
    OutOfScopeReport calibrated =
        Evaluation.outOfScope(
            cascade.classifier(), unknown, cascade.classifier().recommendedThreshold());
    OutOfScopeReport not =
        Evaluation.outOfScope(
            uncalibrated.classifier(), unknown, uncalibrated.classifier().recommendedThreshold());

    assertThat(cascade.record().metrics().get("outOfScope").get("kept").asDouble())
        .isLessThanOrEqualTo(KEPT);
    assertThat(uncalibrated.record().metrics().has("outOfScope")).isFalse();
    assertThat(calibrated.events()).isEqualTo(unknown.size());
    assertThat(calibrated.keptShare()).isLessThan(not.keptShare());
    assertThat(calibrated.keptShare()).isLessThanOrEqualTo(0.25);
    assertThat(calibrated.keptAs().values().stream().mapToInt(Integer::intValue).sum())
        .isEqualTo(calibrated.kept());
  }

  @Test
  void shouldServeWhatAnotherBoundWouldHaveChosenWithoutTrainingAgain() {
    SpecialistClassifier served = (SpecialistClassifier) cascade.classifier();
    var points = cascade.record().metrics().get("outOfScope").get("tradeOff");
    var noBound = points.get(points.size() - 1);
    assertThat(noBound.get("keptTarget").asDouble()).isEqualTo(1.0);

    SpecialistClassifier free =
        served.atThresholds(
            noBound.get("stageThreshold").asDouble(), noBound.get("threshold").asDouble());

    assertThat(free.recommendedThreshold()).isEqualTo(noBound.get("threshold").asDouble());
    assertThat(free.stageThreshold()).isEqualTo(noBound.get("stageThreshold").asDouble());
    assertThat(free.labels()).isEqualTo(served.labels());
    // The members are the model trained without the calibration: at the thresholds it would have
    // chosen, it keeps what that model keeps.
    SpecialistClassifier other = (SpecialistClassifier) uncalibrated.classifier();
    assertThat(free.stageThreshold()).isEqualTo(other.stageThreshold());
    double freeCoverage =
        Evaluation.evaluate(free, test, free.recommendedThreshold()).coverageAtThreshold();
    double otherCoverage =
        Evaluation.evaluate(other, test, other.recommendedThreshold()).coverageAtThreshold();
    assertThat(freeCoverage).isCloseTo(otherCoverage, org.assertj.core.api.Assertions.within(0.01));
    assertThat(Evaluation.outOfScope(free, unknown, free.recommendedThreshold()).keptShare())
        .isGreaterThan(
            Evaluation.outOfScope(served, unknown, served.recommendedThreshold()).keptShare());
    assertThat(
            Evaluation.evaluate(served, test, served.recommendedThreshold()).coverageAtThreshold())
        .isLessThan(freeCoverage);
  }
}
