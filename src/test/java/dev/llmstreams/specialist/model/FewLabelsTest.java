package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A user's own data often has a handful of labels, not 77: the out-of-scope calibration must still
 * run (each label left out on its own) and say so when it cannot.
 */
class FewLabelsTest {
  private static final TrainingOptions HASHED =
      TrainingOptions.defaults().withKind(ModelKind.HASHED);

  private static List<LabeledText> train;
  private static List<LabeledText> test;
  private static List<String> labels;

  @BeforeAll
  static void load() {
    train = LabeledData.classpath(LabeledData.BANKING77_TRAIN);
    test = LabeledData.classpath(LabeledData.BANKING77_TEST);
    labels = new ArrayList<>(new TreeSet<>(train.stream().map(LabeledText::label).toList()));
  }

  private static List<LabeledText> only(List<LabeledText> data, Set<String> keep, int perLabel) {
    return keep.stream()
        .flatMap(l -> data.stream().filter(e -> e.label().equals(l)).limit(perLabel))
        .toList();
  }

  @Test
  void shouldLeaveEachLabelOutOnItsOwnWhenThereAreFewerLabelsThanGroups() {
    int[] y = {0, 1, 2, 0, 1, 2, 2};

    List<int[][]> splits = ModelTrainer.labelGroupSplits(y, 3, HASHED);

    assertThat(splits).hasSize(3);
    Set<Integer> leftOut = new TreeSet<>();
    for (int[][] split : splits) {
      Set<Integer> out = IntStream.of(split[1]).map(i -> y[i]).boxed().collect(Collectors.toSet());
      Set<Integer> in = IntStream.of(split[0]).map(i -> y[i]).boxed().collect(Collectors.toSet());
      assertThat(out).hasSize(1).doesNotContainAnyElementsOf(in);
      assertThat(in).hasSize(2);
      assertThat(split[0].length + split[1].length).isEqualTo(y.length);
      leftOut.addAll(out);
    }
    assertThat(leftOut).containsExactly(0, 1, 2);
    assertThat(ModelTrainer.labelGroupSplits(new int[] {0, 1, 0, 1}, 2, HASHED)).isEmpty();
    assertThat(ModelTrainer.labelGroupSplits(y, 3, HASHED.withOutOfScope(0, 1))).isEmpty();
    assertThat(
            ModelTrainer.labelGroupSplits(
                IntStream.range(0, 40).map(i -> i % 12).toArray(), 12, HASHED))
        .hasSize(TrainingOptions.defaults().outOfScopeGroups());
  }

  @Test
  void shouldKeepFewerEventsOfUnknownLabelsWithThreeLabelsThanUncalibrated() {
    Set<String> three = new TreeSet<>(labels.subList(0, 3));
    List<LabeledText> small = only(train, three, 20);
    List<String> unknown =
        test.stream()
            .filter(e -> !three.contains(e.label()))
            .limit(400)
            .map(LabeledText::text)
            .toList();
    List<String> said = new ArrayList<>();

    TrainedModel calibrated = ModelTrainer.train("three", small, HASHED, said::add);
    TrainedModel not =
        ModelTrainer.train("three", small, HASHED.withOutOfScope(0, 1), message -> {});

    assertThat(said)
        .anyMatch(m -> m.startsWith("out-of-scope calibration: labels dealt into 3 groups"));
    assertThat(calibrated.record().metrics().get("outOfScope").get("groups").asInt()).isEqualTo(3);
    // What other bounds would give, on the same held-out predictions: no bound is the model
    // trained without the calibration.
    var tradeOff = calibrated.record().metrics().get("outOfScope").get("tradeOff");
    assertThat(tradeOff).hasSize(6);
    assertThat(tradeOff.get(2).get("keptTarget").asDouble()).isEqualTo(0.25);
    assertThat(tradeOff.get(2).get("coverage").asDouble())
        .isEqualTo(
            calibrated.record().metrics().get("dev").get("coverage_at_threshold").asDouble());
    assertThat(tradeOff.get(5).get("keptTarget").asDouble()).isEqualTo(1.0);
    assertThat(tradeOff.get(5).get("coverage").asDouble())
        .isEqualTo(
            calibrated.record().metrics().get("outOfScope").get("coverageWithoutBound").asDouble())
        .isEqualTo(not.record().metrics().get("dev").get("coverage_at_threshold").asDouble());
    assertThat(said)
        .anyMatch(m -> m.startsWith("out of scope: what each --out-of-scope-kept gives"))
        .anyMatch(m -> m.startsWith("  0.25 (this model):"))
        .anyMatch(m -> m.startsWith("  1 (no bound):"));
    OutOfScopeReport kept =
        Evaluation.outOfScope(
            calibrated.classifier(), unknown, calibrated.classifier().recommendedThreshold());
    OutOfScopeReport uncalibrated =
        Evaluation.outOfScope(not.classifier(), unknown, not.classifier().recommendedThreshold());
    assertThat(kept.events()).isEqualTo(unknown.size());
    assertThat(kept.keptShare()).isLessThan(uncalibrated.keptShare());
    assertThat(kept.keptShare()).isLessThanOrEqualTo(0.5);
  }

  @Test
  void shouldKeepFewerEventsOfUnknownLabelsGivenExamplesLabelledOutOfScope() {
    Set<String> three = new TreeSet<>(labels.subList(0, 3));
    List<LabeledText> small = only(train, three, 20);
    // A sample of the other traffic, labelled oos: texts of 37 labels the model does not have.
    Set<String> sampled = new TreeSet<>(labels.subList(3, 40));
    List<LabeledText> withOos = new ArrayList<>(small);
    only(train, sampled, 6).forEach(e -> withOos.add(new LabeledText(e.text(), "oos")));
    int known = withOos.size() - small.size();
    // Judged on texts of the other 37 labels, which neither model has seen.
    List<String> unknown =
        test.stream()
            .filter(e -> !three.contains(e.label()) && !sampled.contains(e.label()))
            .map(LabeledText::text)
            .toList();
    TrainingOptions options = HASHED.withOutOfScope(5, 0.1);
    List<String> said = new ArrayList<>();

    TrainedModel given =
        ModelTrainer.train("three", withOos, options.withOutOfScopeLabel("oos"), said::add);
    TrainedModel not = ModelTrainer.train("three", small, options, message -> {});

    assertThat(given.classifier().labels()).containsExactlyElementsOf(three);
    assertThat(said)
        .anyMatch(m -> m.startsWith(known + " examples labelled oos are out of scope"))
        .anyMatch(m -> m.contains("of the " + known + " examples labelled oos are kept"));
    var labelled = given.record().metrics().get("outOfScope").get("labelled");
    assertThat(labelled.get("label").asText()).isEqualTo("oos");
    assertThat(labelled.get("examples").asInt()).isEqualTo(known);
    assertThat(labelled.get("kept").asDouble()).isLessThanOrEqualTo(0.1);
    assertThat(TrainingOptions.fromJson(given.record().config()).outOfScopeLabel())
        .isEqualTo("oos");
    OutOfScopeReport withSample =
        Evaluation.outOfScope(
            given.classifier(), unknown, given.classifier().recommendedThreshold());
    OutOfScopeReport without =
        Evaluation.outOfScope(not.classifier(), unknown, not.classifier().recommendedThreshold());
    assertThat(withSample.keptShare()).isLessThan(without.keptShare());
    // The in-scope test texts are still kept, mostly.
    List<LabeledText> inScope = only(test, three, 40);
    EvaluationReport onTest =
        Evaluation.evaluate(given.classifier(), inScope, given.classifier().recommendedThreshold());
    assertThat(onTest.coverageAtThreshold()).isGreaterThan(0.5);
  }

  @Test
  void shouldRefuseABlankOutOfScopeLabel() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> HASHED.withOutOfScopeLabel(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("outOfScopeLabel must not be blank");
    List<LabeledText> onlyOos =
        only(train, new TreeSet<>(labels.subList(0, 2)), 5).stream()
            .map(
                e -> new LabeledText(e.text(), e.label().equals(labels.get(0)) ? "oos" : e.label()))
            .toList();
    List<LabeledText> contradictory =
        new ArrayList<>(only(train, new TreeSet<>(labels.subList(0, 3)), 10));
    contradictory.add(new LabeledText(contradictory.get(0).text(), "oos"));
    contradictory.add(new LabeledText("what is the weather like in Paris", "oos"));
    List<String> said = new ArrayList<>();
    ModelTrainer.train("three", contradictory, HASHED.withOutOfScopeLabel("oos"), said::add);
    assertThat(said)
        .anyMatch(m -> m.startsWith("texts labelled oos that are also examples of a label: 1;"));
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                ModelTrainer.train(
                    "one", onlyOos, HASHED.withOutOfScopeLabel("oos"), message -> {}))
        .hasMessage(
            "a classifier needs examples of at least two labels besides the out-of-scope label"
                + " oos");
  }

  @Test
  void shouldNameTheLabelsWithFewerExamplesThanFolds() {
    assertThat(
            ModelTrainer.fewExamples(
                List.of("card_arrival", "refund", "top_up"), new int[] {0, 0, 1, 2, 2, 2, 2, 2}, 5))
        .isEqualTo("card_arrival (2), refund (1)");
    assertThat(ModelTrainer.fewExamples(List.of("a", "b"), new int[] {0, 1, 0, 1}, 2)).isEmpty();
    // 77 labels of 3 examples: the first ten named, the rest counted.
    List<String> many = IntStream.range(0, 77).mapToObj(k -> "l" + (100 + k)).toList();
    int[] three = IntStream.range(0, 231).map(i -> i % 77).toArray();
    assertThat(ModelTrainer.fewExamples(many, three, 5))
        .startsWith("l100 (3), l101 (3), ")
        .endsWith("l109 (3) and 67 more of 77");

    List<LabeledText> data = new ArrayList<>(only(train, new TreeSet<>(labels.subList(0, 3)), 20));
    data.add(new LabeledText("how do I close my account for good", "terminate_account"));
    List<String> said = new ArrayList<>();
    ModelTrainer.train("four", data, HASHED, said::add);

    assertThat(said)
        .anyMatch(
            m ->
                m.startsWith(
                    "labels with fewer than 5 examples: terminate_account (1); the thresholds"));
  }

  @Test
  void shouldSayWhenTwoLabelsAreTooFewForTheOutOfScopeCalibration() {
    List<LabeledText> two = only(train, new TreeSet<>(labels.subList(0, 2)), 20);
    List<String> said = new ArrayList<>();

    TrainedModel trained = ModelTrainer.train("two", two, HASHED, said::add);

    assertThat(said)
        .anyMatch(m -> m.startsWith("out-of-scope calibration skipped: 2 labels are too few"));
    assertThat(trained.record().metrics().get("outOfScope").get("groups").asInt()).isZero();
    assertThat(trained.record().metrics().get("outOfScope").get("skipped").asText())
        .isEqualTo("fewer than 3 labels");
  }
}
