package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The hashed model on all of Banking77 (it trains in seconds). */
class HashedModelTest {
  /** As measured before out-of-scope calibration (CascadeModelTest covers that). */
  private static final TrainingOptions HASHED_WITHOUT_OUT_OF_SCOPE =
      TrainingOptions.defaults().withKind(ModelKind.HASHED).withOutOfScope(0, 1);

  private static List<LabeledText> test;
  private static TrainedModel trained;

  @BeforeAll
  static void train() {
    test = LabeledData.classpath(LabeledData.BANKING77_TEST);
    trained =
        ModelTrainer.train(
            "banking77",
            LabeledData.classpath(LabeledData.BANKING77_TRAIN),
            HASHED_WITHOUT_OUT_OF_SCOPE,
            message -> {});
  }

  @Test
  void shouldReachTheMeasuredAccuracyOnTheTestSet() {
    EvaluationReport r =
        Evaluation.evaluate(
            trained.classifier(), test, trained.classifier().recommendedThreshold());

    assertThat(r.accuracy()).isGreaterThan(0.90);
    assertThat(r.macroF1()).isGreaterThan(0.90);
    assertThat(r.accuracyAtThreshold()).isGreaterThan(0.96);
    assertThat(r.coverageAtThreshold()).isGreaterThan(0.80);
    assertThat(trained.dev().accuracyAtThreshold()).isGreaterThanOrEqualTo(0.97);
  }

  @Test
  void shouldLowerTheNegativeLogLikelihoodOfTheTestSetByCalibrating() {
    SpecialistClassifier model = (SpecialistClassifier) trained.classifier();
    SpecialistClassifier.Member member = model.members().get(0);
    double[][] logits = member.scorer().logits(test.stream().map(LabeledText::text).toList());
    int[] labels = test.stream().mapToInt(e -> model.labels().indexOf(e.label())).toArray();

    assertThat(member.temperature()).isNotEqualTo(1.0);
    assertThat(Calibration.nll(logits, labels, member.temperature()))
        .isLessThan(Calibration.nll(logits, labels, 1));
  }

  @Test
  void shouldPublishARecordWellUnderTheTopicLimit() {
    assertThat(trained.record().format()).isEqualTo("specialist-hashed-v1");
    assertThat(SpecialistModels.recordBytes(trained.record())).isLessThan(6 * 1024 * 1024);
    assertThat(trained.record().trainingDataDigest())
        .isEqualTo(LabeledData.digest(LabeledData.classpath(LabeledData.BANKING77_TRAIN)));
    assertThat(TrainingOptions.fromJson(trained.record().config()))
        .isEqualTo(HASHED_WITHOUT_OUT_OF_SCOPE);
    assertThat(trained.record().metrics().get("dev").get("accuracy").asDouble())
        .isEqualTo(trained.dev().accuracy());
  }

  @Test
  void shouldPredictTheTopThreeAndTypicalExamples() {
    Prediction p =
        trained.classifier().predict("I still have not received my new card, when will it arrive?");

    assertThat(p.label()).isEqualTo("card_arrival");
    assertThat(p.top())
        .hasSize(3)
        .first()
        .satisfies(s -> assertThat(s.label()).isEqualTo("card_arrival"));
    assertThat(p.top().get(0).confidence()).isGreaterThanOrEqualTo(p.top().get(1).confidence());
    assertThat(trained.classifier().predict("").top()).hasSize(3);
    assertThat(trained.classifier().nearestExamples("my card has not arrived", 3)).hasSize(3);
    assertThat(((SpecialistClassifier) trained.classifier()).examples().examples())
        .hasSize(77 * NearestExamples.PER_LABEL);
  }
}
