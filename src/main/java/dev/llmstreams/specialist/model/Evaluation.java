package dev.llmstreams.specialist.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Scores a classifier on labelled examples it did not train on. */
public final class Evaluation {
  private static final int WARM_UP_TEXTS = 200;
  private static final long WARM_UP_NANOS = 2_000_000_000L;

  private Evaluation() {}

  /**
   * Accuracy, macro F1 over the labels that are true or predicted in the data, per-label scores,
   * speed (one thread, one {@link TextClassifier#predict} per text as a stream thread calls it,
   * after a warm-up), and the share and accuracy of events kept at {@code threshold}.
   */
  public static EvaluationReport evaluate(
      TextClassifier model, List<LabeledText> examples, double threshold) {
    if (examples.isEmpty()) {
      throw new IllegalArgumentException("nothing to evaluate on");
    }
    Timed timed = timed(examples.size(), i -> model.predict(examples.get(i).text()));
    return report(model, examples, timed.predictions(), threshold, timed.eventsPerS());
  }

  /** Predictions, in order, and how many a second were made. */
  record Timed(List<Prediction> predictions, double eventsPerS) {}

  /**
   * {@code predict} of 0 to {@code n - 1}, one at a time, timed after an untimed warm-up: a stream
   * thread runs the model JIT-compiled for hours, so the measured speed should be that.
   */
  static Timed timed(int n, java.util.function.IntFunction<Prediction> predict) {
    long warmUntil = System.nanoTime() + WARM_UP_NANOS;
    for (int i = 0; i < WARM_UP_TEXTS || System.nanoTime() < warmUntil; i++) {
      predict.apply(i % n);
    }
    long start = System.nanoTime();
    List<Prediction> predictions = new java.util.ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      predictions.add(predict.apply(i));
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return new Timed(predictions, n / seconds);
  }

  /**
   * The report of {@code predictions} (one per example, in order) of {@code model}; {@code
   * eventsPerS} as measured elsewhere (0 when not measured).
   */
  static EvaluationReport report(
      TextClassifier model,
      List<LabeledText> examples,
      List<Prediction> predictions,
      double threshold,
      double eventsPerS) {
    int n = predictions.size();
    String[] predicted = new String[n];
    double[] confidence = new double[n];
    String[] stage = new String[n];
    boolean[] settled = new boolean[n];
    for (int i = 0; i < n; i++) {
      Prediction p = predictions.get(i);
      predicted[i] = p.label();
      confidence[i] = p.confidence();
      stage[i] = p.stage();
      settled[i] = p.settled();
    }
    return report(
        model.labels(), examples, predicted, confidence, stage, settled, threshold, eventsPerS);
  }

  /**
   * Labelled rows split by a model's out-of-scope label: the rows to score, and the others' texts.
   */
  public record Split(List<LabeledText> scored, List<String> outOfScope) {}

  /**
   * The rows of {@code outOfScopeLabel} (null: none; {@link TrainingOptions#outOfScopeLabel()})
   * apart: texts the model should escalate, not a label to score.
   */
  public static Split split(List<LabeledText> rows, String outOfScopeLabel) {
    if (outOfScopeLabel == null) {
      return new Split(rows, List.of());
    }
    List<LabeledText> scored = new ArrayList<>();
    List<String> outOfScope = new ArrayList<>();
    for (LabeledText row : rows) {
      if (row.label().equals(outOfScopeLabel)) {
        outOfScope.add(row.text());
      } else {
        scored.add(row);
      }
    }
    return new Split(List.copyOf(scored), List.copyOf(outOfScope));
  }

  /**
   * How many of these texts, of labels the model never trained on, it keeps at {@code threshold}
   * (each kept one is a confident wrong label; the rest would be escalated), and which labels it
   * gave them.
   */
  public static OutOfScopeReport outOfScope(
      TextClassifier model, List<String> texts, double threshold) {
    if (texts.isEmpty()) {
      throw new IllegalArgumentException("no out-of-scope texts to evaluate on");
    }
    List<Prediction> predictions = model.predictAll(texts);
    int kept = 0;
    Map<String, Integer> keptAs = new java.util.TreeMap<>();
    for (Prediction p : predictions) {
      if (p.keptAt(threshold)) {
        kept++;
        keptAs.merge(p.label(), 1, Integer::sum);
      }
    }
    return new OutOfScopeReport(
        texts.size(), kept, kept / (double) texts.size(), threshold, keptAs);
  }

  static EvaluationReport report(
      List<String> modelLabels,
      List<LabeledText> examples,
      String[] predicted,
      double[] confidence,
      String[] stage,
      boolean[] settled,
      double threshold,
      double eventsPerS) {
    Set<String> labels = new LinkedHashSet<>(modelLabels);
    examples.forEach(e -> labels.add(e.label()));
    Map<String, int[]> counts =
        new LinkedHashMap<>(); // label -> {true positives, predicted, actual}
    labels.forEach(l -> counts.put(l, new int[3]));
    int right = 0;
    int kept = 0;
    Map<String, Integer> stages = new java.util.TreeMap<>();
    int rightKept = 0;
    for (int i = 0; i < predicted.length; i++) {
      String truth = examples.get(i).label();
      boolean correct = truth.equals(predicted[i]);
      right += correct ? 1 : 0;
      counts.computeIfAbsent(predicted[i], l -> new int[3])[1]++;
      counts.get(truth)[2]++;
      if (correct) {
        counts.get(truth)[0]++;
      }
      if (stage[i] != null) {
        stages.merge(stage[i], 1, Integer::sum);
      }
      if (settled[i] || confidence[i] >= threshold) {
        kept++;
        rightKept += correct ? 1 : 0;
      }
    }
    Map<String, EvaluationReport.LabelScores> perLabel = new LinkedHashMap<>();
    double f1Sum = 0;
    for (Map.Entry<String, int[]> e : counts.entrySet()) {
      int[] c = e.getValue();
      if (c[1] == 0 && c[2] == 0) {
        continue; // as scikit-learn: a label neither true nor predicted here says nothing about the
        // model
      }
      double precision = c[1] == 0 ? 0 : c[0] / (double) c[1];
      double recall = c[2] == 0 ? 0 : c[0] / (double) c[2];
      double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
      perLabel.put(e.getKey(), new EvaluationReport.LabelScores(precision, recall, f1, c[2]));
      f1Sum += f1;
    }
    int n = predicted.length;
    return new EvaluationReport(
        right / (double) n,
        f1Sum / perLabel.size(),
        perLabel,
        eventsPerS,
        kept / (double) n,
        kept == 0 ? 0 : rightKept / (double) kept,
        threshold,
        stageShares(stages, n));
  }

  private static Map<String, Double> stageShares(Map<String, Integer> counts, int n) {
    Map<String, Double> shares = new java.util.TreeMap<>();
    counts.forEach((stage, c) -> shares.put(stage, c / (double) n));
    return shares;
  }
}
