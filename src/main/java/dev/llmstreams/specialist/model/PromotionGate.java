package dev.llmstreams.specialist.model;

import dev.llmstreams.events.ModelPromotion;
import dev.llmstreams.events.ModelPromotion.Decision;
import dev.llmstreams.events.ModelPromotion.Scores;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Decides whether a retrained specialist model may replace the one in service. Both are scored on
 * the same recent labelled events that the candidate never trained on, each at the threshold it
 * would be served with; the candidate is promoted only when it is at least as good on both counts
 * that matter in service: the accuracy of what it keeps and the share it keeps (coverage). Worse
 * means lower by more than {@code tolerance} plus what chance explains on that many events (1.645
 * standard errors of the difference of the two shares: one-sided 95%), so a few hundred events
 * neither promote a clearly worse model nor reject an equal one by luck. With fewer than {@code
 * minExamples} such events there is no evidence, and the candidate is rejected: {@code train
 * --publish --force} puts a model in service without the gate. Pure logic: no Kafka, no clock.
 *
 * @param tolerance how far below the model in service either score may be (e.g. 0.01)
 * @param minExamples the fewest events a comparison is decided on
 */
public record PromotionGate(double tolerance, int minExamples) {
  /** One-sided 95%: a difference chance explains less than one time in twenty counts as worse. */
  static final double Z = 1.645;

  public PromotionGate {
    if (!(tolerance >= 0 && tolerance < 1)) {
      throw new IllegalArgumentException("the tolerance must be in [0, 1), not " + tolerance);
    }
    if (minExamples < 1) {
      throw new IllegalArgumentException("minExamples must be at least 1, not " + minExamples);
    }
  }

  /**
   * The scores of {@code model} on {@code examples} at {@code threshold} (a cascade's settled
   * predictions are kept whatever the threshold, as in service).
   */
  public static Scores score(TextClassifier model, List<LabeledText> examples, double threshold) {
    return score(model, examples, threshold, null);
  }

  /**
   * The same, where examples labelled {@code outOfScopeLabel} (null: none) are texts no label
   * covers ({@link TrainingOptions#outOfScopeLabel()}): escalating one is right, so accuracy and
   * coverage are of the other examples, and each one kept is a mistake among those kept.
   */
  public static Scores score(
      TextClassifier model, List<LabeledText> examples, double threshold, String outOfScopeLabel) {
    if (examples.isEmpty()) {
      throw new IllegalArgumentException("nothing to score on");
    }
    List<String> texts = new ArrayList<>(examples.size());
    examples.forEach(e -> texts.add(e.text()));
    List<Prediction> predictions = model.predictAll(texts);
    if (outOfScopeLabel == null || model.labels().contains(outOfScopeLabel)) {
      EvaluationReport r = Evaluation.report(model, examples, predictions, threshold, 0);
      return new Scores(
          r.accuracy(),
          r.coverageAtThreshold() == 0 ? null : r.accuracyAtThreshold(),
          r.coverageAtThreshold(),
          threshold);
    }
    int inScope = 0;
    int right = 0;
    int keptInScope = 0;
    int kept = 0;
    int keptRight = 0;
    for (int i = 0; i < examples.size(); i++) {
      Prediction p = predictions.get(i);
      boolean isRight = p.label().equals(examples.get(i).label());
      boolean keep = p.keptAt(threshold);
      if (!examples.get(i).label().equals(outOfScopeLabel)) {
        inScope++;
        right += isRight ? 1 : 0;
        keptInScope += keep ? 1 : 0;
      }
      kept += keep ? 1 : 0;
      keptRight += keep && isRight ? 1 : 0;
    }
    return new Scores(
        inScope == 0 ? 1 : right / (double) inScope,
        kept == 0 ? null : keptRight / (double) kept,
        inScope == 0 ? 0 : keptInScope / (double) inScope,
        threshold);
  }

  private static int kept(Scores s, int examples) {
    return (int) Math.round(s.coverage() * examples);
  }

  /** The variance of a share {@code p} measured on {@code n} events (0 when there are none). */
  private static double variance(double p, int n) {
    return n == 0 ? 0 : p * (1 - p) / n;
  }

  /**
   * The decision about a candidate with {@code candidate} scores against the model in service.
   *
   * @param incumbent the scores of the model in service; null when none is in service
   * @param examples how many events both were scored on
   */
  public ModelPromotion decide(
      Scores candidate,
      Scores incumbent,
      String incumbentVersion,
      int examples,
      Instant at,
      String decidedBy) {
    if (incumbentVersion == null) {
      return new ModelPromotion(
          Decision.PROMOTED, "no model in service", at, examples, candidate, null, null, decidedBy);
    }
    if (examples < minExamples || candidate == null || incumbent == null) {
      return new ModelPromotion(
          Decision.REJECTED,
          String.format(
              Locale.ROOT,
              "too little evidence: %d labelled events newer than the model in service and unseen by"
                  + " the candidate, at least %d needed (train --publish --force skips the gate)",
              examples,
              minExamples),
          at,
          examples,
          candidate,
          incumbent,
          incumbentVersion,
          decidedBy);
    }
    // Keeping nothing means keeping nothing wrong: a model that escalates everything has a kept
    // accuracy of 1 (and its coverage of 0 is what it loses on).
    double keptCandidate = candidate.keptAccuracy() == null ? 1 : candidate.keptAccuracy();
    double keptIncumbent = incumbent.keptAccuracy() == null ? 1 : incumbent.keptAccuracy();
    // Worse means worse beyond the tolerance and beyond what chance explains on this many events.
    double keptMargin =
        tolerance
            + Z
                * Math.sqrt(
                    variance(keptCandidate, kept(candidate, examples))
                        + variance(keptIncumbent, kept(incumbent, examples)));
    double coverageMargin =
        tolerance
            + Z
                * Math.sqrt(
                    variance(candidate.coverage(), examples)
                        + variance(incumbent.coverage(), examples));
    List<String> worse = new ArrayList<>();
    if (keptCandidate < keptIncumbent - keptMargin) {
      worse.add(
          String.format(
              Locale.ROOT,
              "kept accuracy %.4f < %.4f - %.4f",
              keptCandidate,
              keptIncumbent,
              keptMargin));
    }
    if (candidate.coverage() < incumbent.coverage() - coverageMargin) {
      worse.add(
          String.format(
              Locale.ROOT,
              "coverage %.4f < %.4f - %.4f",
              candidate.coverage(),
              incumbent.coverage(),
              coverageMargin));
    }
    String scores =
        String.format(
            Locale.ROOT,
            "on %d events: kept accuracy %.4f vs %.4f, coverage %.4f vs %.4f",
            examples,
            keptCandidate,
            keptIncumbent,
            candidate.coverage(),
            incumbent.coverage());
    String tradeOff = "";
    if (worse.size() == 1) {
      // Better on the other count: a different trade-off between mistakes and escalations, which
      // only a person can choose (a higher target accuracy at training, specialist.threshold, or
      // --force).
      tradeOff =
          candidate.coverage() > incumbent.coverage()
              ? "; it keeps more, less accurately: a different trade-off, not an improvement"
              : keptCandidate > keptIncumbent
                  ? "; it keeps less, more accurately: a different trade-off, not an improvement"
                  : "";
    }
    return new ModelPromotion(
        worse.isEmpty() ? Decision.PROMOTED : Decision.REJECTED,
        worse.isEmpty()
            ? "at least as good as " + incumbentVersion + " " + scores
            : "worse than "
                + incumbentVersion
                + ": "
                + String.join(", ", worse)
                + "; "
                + scores
                + tradeOff,
        at,
        examples,
        candidate,
        incumbent,
        incumbentVersion,
        decidedBy);
  }
}
