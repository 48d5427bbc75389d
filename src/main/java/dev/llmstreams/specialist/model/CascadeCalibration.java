package dev.llmstreams.specialist.model;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.DoubleFunction;
import java.util.stream.DoubleStream;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Chooses a model's thresholds on held-out predictions: for a cascade, the first stage's threshold
 * and the final one together; for a one-stage model, the final one alone. Optionally also bounded
 * by predictions on texts of labels the predicting models never trained on (out of scope).
 *
 * <p>For each candidate first-stage threshold t1 (every percentile of the first stage's held-out
 * confidences, and "never"): the first stage keeps the texts at or above t1, which must on their
 * own reach the target accuracy; the others go to the final stage, whose threshold t2 is the lowest
 * at which everything kept (by either stage) reaches the target accuracy and, with out-of-scope
 * predictions, at most {@code maxOutOfScopeKept} of those are kept. Of the candidates, those whose
 * coverage is within {@code coverageSlack} of the best are cheapest when the first stage keeps the
 * most: the one keeping the most is chosen. Two sets of out-of-scope predictions may bound the
 * choice, each on its own: the left-out label groups' and the known out-of-scope texts' (examples
 * labelled {@link TrainingOptions#outOfScopeLabel()}).
 */
public final class CascadeCalibration {
  private static final int PERCENTILES = 100;

  private CascadeCalibration() {}

  /**
   * The held-out predictions: per example, the first stage's calibrated confidence and whether its
   * label was right ({@code first*}, ignored unless {@code cascade}) and the same for the final
   * stage (the whole model when not a cascade).
   */
  public record HeldOut(
      double[] firstConfidence,
      boolean[] firstCorrect,
      double[] finalConfidence,
      boolean[] finalCorrect) {
    public HeldOut {
      int n = finalConfidence.length;
      if (firstConfidence.length != n || firstCorrect.length != n || finalCorrect.length != n) {
        throw new IllegalArgumentException(
            "a threshold needs one correctness per confidence, for both stages");
      }
    }

    int size() {
      return finalConfidence.length;
    }
  }

  /**
   * Predictions on out-of-scope texts: confidences of the first and final stage ({@code first} may
   * be null when not a cascade).
   */
  public record OutOfScope(double[] firstConfidence, double[] finalConfidence) {
    int size() {
      return finalConfidence.length;
    }
  }

  /**
   * What was chosen and what it does on the held-out predictions.
   *
   * @param stageThreshold the first stage keeps a text at or above this ({@link
   *     SpecialistClassifier#NEVER}: never)
   * @param threshold the final stage keeps a text at or above this
   * @param coverage share of held-out examples kept (by either stage)
   * @param accuracy accuracy of those
   * @param firstStageShare share decided by the first stage
   * @param outOfScopeKept share of the left-out labels' examples kept (NaN without them)
   * @param reached false when no threshold reaches the target: then the model keeps nothing
   * @param knownOutOfScopeKept share of the known out-of-scope texts kept (NaN without them)
   */
  public record Choice(
      double stageThreshold,
      double threshold,
      double coverage,
      double accuracy,
      double firstStageShare,
      double outOfScopeKept,
      boolean reached,
      double knownOutOfScopeKept) {}

  /**
   * {@link #choose(HeldOut, OutOfScope, OutOfScope, boolean, double, double, double)} without known
   * out-of-scope texts.
   */
  public static Choice choose(
      HeldOut held,
      OutOfScope outOfScope,
      boolean cascade,
      double targetAccuracy,
      double maxOutOfScopeKept,
      double coverageSlack) {
    return choose(
        held, outOfScope, null, cascade, targetAccuracy, maxOutOfScopeKept, coverageSlack);
  }

  /**
   * The thresholds; {@code outOfScope} (the left-out label groups' predictions) and {@code known}
   * (the known out-of-scope texts') may each be null, and each that is not keeps at most {@code
   * maxOutOfScopeKept} of its texts.
   */
  public static Choice choose(
      HeldOut held,
      OutOfScope outOfScope,
      OutOfScope known,
      boolean cascade,
      double targetAccuracy,
      double maxOutOfScopeKept,
      double coverageSlack) {
    if (held.size() == 0) {
      throw new IllegalArgumentException("thresholds need held-out examples");
    }
    double[] candidates =
        cascade
            ? firstStageCandidates(held.firstConfidence())
            : new double[] {SpecialistClassifier.NEVER};
    Choice[] choices = new Choice[candidates.length];
    double bestCoverage = -1;
    for (int c = 0; c < candidates.length; c++) {
      choices[c] =
          withFirstStage(
              candidates[c], held, outOfScope, known, cascade, targetAccuracy, maxOutOfScopeKept);
      if (choices[c] != null) {
        bestCoverage = Math.max(bestCoverage, choices[c].coverage());
      }
    }
    Choice chosen = null;
    for (Choice c : choices) {
      if (c != null
          && c.coverage() >= bestCoverage - coverageSlack
          && (chosen == null || c.firstStageShare() > chosen.firstStageShare())) {
        chosen = c;
      }
    }
    if (chosen == null || bestCoverage <= 0) {
      // Not even the surest reach the target: everything is escalated.
      return new Choice(
          SpecialistClassifier.NEVER,
          1,
          0,
          0,
          0,
          outOfScope == null ? Double.NaN : 0,
          false,
          known == null ? Double.NaN : 0);
    }
    return chosen;
  }

  /** The out-of-scope bounds {@link #tradeOff} always shows, beside the one chosen. */
  public static final double[] TRADE_OFF_BOUNDS = {0.05, 0.10, 0.25, 0.50, 0.75, 1.0};

  /** What one out-of-scope bound gives on the held-out predictions. */
  public record Point(double bound, Choice choice) {}

  /**
   * What each bound would give, ascending: {@link #TRADE_OFF_BOUNDS} and {@code chosen}, each
   * chosen by {@code underBound} (the thresholds {@link #choose} picks on the same held-out
   * predictions under that bound). Bound 1 is no bound: the coverage the out-of-scope calibration
   * costs is that point's coverage less the chosen one's.
   */
  public static List<Point> tradeOff(DoubleFunction<Choice> underBound, double chosen) {
    return DoubleStream.concat(DoubleStream.of(TRADE_OFF_BOUNDS), DoubleStream.of(chosen))
        .distinct()
        .sorted()
        .mapToObj(b -> new Point(b, underBound.apply(b)))
        .toList();
  }

  private static double[] firstStageCandidates(double[] confidence) {
    double[] sorted = confidence.clone();
    Arrays.sort(sorted);
    double[] out = new double[PERCENTILES + 1];
    for (int p = 0; p < PERCENTILES; p++) {
      out[p] = sorted[(int) Math.min(sorted.length - 1, (long) p * sorted.length / PERCENTILES)];
    }
    out[PERCENTILES] = SpecialistClassifier.NEVER;
    return Arrays.stream(out).distinct().toArray();
  }

  /**
   * One out-of-scope set under a first-stage threshold: how many its first stage keeps, the final
   * stage's confidences of the rest (ascending) and how many may be kept in all.
   */
  private record Bound(int kept1, double[] restAscending, double allowed, int size) {
    static Bound of(OutOfScope oos, double t1, boolean cascade, double maxKept) {
      int kept1 = 0;
      double[] rest = new double[oos.size()];
      int restCount = 0;
      for (int j = 0; j < oos.size(); j++) {
        if (cascade && oos.firstConfidence()[j] >= t1) {
          kept1++;
        } else {
          rest[restCount++] = oos.finalConfidence()[j];
        }
      }
      double[] sorted = Arrays.copyOf(rest, restCount);
      Arrays.sort(sorted); // ascending; kept at t = those >= t
      return new Bound(kept1, sorted, maxKept * oos.size(), oos.size());
    }

    int kept(double t2) {
      return kept1 + restAscending.length - lowerBound(restAscending, t2);
    }

    double share(double t2) {
      return kept(t2) / (double) size;
    }
  }

  /** The best final threshold under this first-stage threshold; null when none is admissible. */
  private static Choice withFirstStage(
      double t1,
      HeldOut held,
      OutOfScope leftOut,
      OutOfScope known,
      boolean cascade,
      double target,
      double maxOosKept) {
    int n = held.size();
    int kept1 = 0;
    int right1 = 0;
    int[] rest = new int[n];
    int restCount = 0;
    for (int i = 0; i < n; i++) {
      if (cascade && held.firstConfidence()[i] >= t1) {
        kept1++;
        right1 += held.firstCorrect()[i] ? 1 : 0;
      } else {
        rest[restCount++] = i;
      }
    }
    if (kept1 > 0 && right1 < target * kept1) {
      return null; // the first stage alone keeps too many mistakes
    }
    Bound leftOutBound = leftOut == null ? null : Bound.of(leftOut, t1, cascade, maxOosKept);
    Bound knownBound = known == null ? null : Bound.of(known, t1, cascade, maxOosKept);
    List<Bound> bounds = Stream.of(leftOutBound, knownBound).filter(b -> b != null).toList();
    if (bounds.stream().anyMatch(b -> b.kept1() > b.allowed())) {
      return null; // the first stage alone keeps too many out-of-scope texts
    }
    Integer[] order = IntStream.range(0, restCount).boxed().toArray(Integer[]::new);
    double[] c2 = held.finalConfidence();
    Arrays.sort(order, Comparator.comparingDouble((Integer r) -> -c2[rest[r]]));
    // Scan the final stage's rest from its surest down; at the end of each run of equal
    // confidences, the threshold there is admissible when accuracy and the out-of-scope bounds
    // hold.
    double t2 = 1;
    int kept2 = 0;
    int right2 = 0;
    int bestKept2 = 0;
    int bestRight2 = 0;
    boolean any = false;
    for (int k = 0; k < restCount; k++) {
      int row = rest[order[k]];
      kept2++;
      right2 += held.finalCorrect()[row] ? 1 : 0;
      boolean lastOfTies = k == restCount - 1 || c2[rest[order[k + 1]]] < c2[row];
      if (!lastOfTies) {
        continue;
      }
      double at = c2[row];
      if (right1 + right2 >= target * (kept1 + kept2)
          && bounds.stream().allMatch(b -> b.kept(at) <= b.allowed())) {
        t2 = at;
        bestKept2 = kept2;
        bestRight2 = right2;
        any = true;
      }
    }
    if (any && restCount > 0 && t2 == c2[rest[order[restCount - 1]]] && bounds.isEmpty()) {
      t2 = 0; // everything the final stage saw together reaches the target
    }
    int kept = kept1 + bestKept2;
    // Without an admissible final threshold the final stage keeps nothing: only the first stage's
    // out-of-scope texts count.
    double finalAt = any ? t2 : Double.POSITIVE_INFINITY;
    return new Choice(
        cascade ? t1 : SpecialistClassifier.NEVER,
        t2,
        kept / (double) n,
        kept == 0 ? 0 : (right1 + bestRight2) / (double) kept,
        kept1 / (double) n,
        leftOutBound == null ? Double.NaN : leftOutBound.share(finalAt),
        kept > 0,
        knownBound == null ? Double.NaN : knownBound.share(finalAt));
  }

  /** The first index whose value is at least {@code x} (ascending values). */
  private static int lowerBound(double[] ascending, double x) {
    int lo = 0;
    int hi = ascending.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (ascending[mid] < x) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
}
