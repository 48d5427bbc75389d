package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.llm.offline.SentenceEncoder;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ensemble on all of Banking77, against the acceptance: test accuracy at least 0.93 and, at the
 * recommended threshold, 97% accuracy on at least 90% of the events. The slowest test of the package: MiniLM embeds
 * the 10,003 training texts once.
 */
class EnsembleModelTest {
  private static final SentenceEncoder ENCODER = new SentenceEncoder();
  private static List<LabeledText> test;
  private static TrainedModel trained;

  @BeforeAll
  static void train() {
    test = LabeledData.classpath(LabeledData.BANKING77_TEST);
    trained = ModelTrainer.train("banking77", LabeledData.classpath(LabeledData.BANKING77_TRAIN), TrainingOptions.defaults(),
        message -> {}, ENCODER, java.time.Clock.systemUTC());
  }

  @AfterAll
  static void close() {
    ENCODER.close();
  }

  @Test
  void shouldMeetTheAcceptanceOnTheTestSet() {
    EvaluationReport r = Evaluation.evaluate(trained.classifier(), test, trained.classifier().recommendedThreshold());

    assertThat(r.accuracy()).isGreaterThanOrEqualTo(0.93);
    assertThat(r.accuracyAtThreshold()).isGreaterThanOrEqualTo(0.97);
    assertThat(r.coverageAtThreshold()).isGreaterThanOrEqualTo(0.90);
  }

  @Test
  void shouldCalibrateBothMembersAndStayUnderTheTopicLimit() {
    SpecialistClassifier model = (SpecialistClassifier) trained.classifier();

    assertThat(model.members()).extracting(m -> m.scorer().type()).containsExactly(HashedScorer.TYPE, EmbeddingScorer.TYPE);
    assertThat(trained.record().format()).isEqualTo("specialist-ensemble-v1");
    assertThat(SpecialistModels.recordBytes(trained.record())).isLessThan(6 * 1024 * 1024);
  }

  @Test
  void shouldPredictTheSameAfterLoadingTheRecord() {
    List<String> probes = test.stream().limit(50).map(LabeledText::text).toList();
    TextClassifier loaded = SpecialistModels.load(trained.record(), ENCODER);

    assertThat(probes.stream().map(loaded::predict).toList())
        .isEqualTo(probes.stream().map(trained.classifier()::predict).toList());
  }

  @Test
  void shouldShowExamplesNearInMeaning() {
    assertThat(trained.classifier().nearestExamples("my card has not arrived yet", 3))
        .extracting(LabeledText::label).containsOnly("card_arrival");
  }
}
