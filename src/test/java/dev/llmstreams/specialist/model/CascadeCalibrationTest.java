package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class CascadeCalibrationTest {

  /**
   * n held-out examples whose first stage is right with probability equal to its confidence, and
   * whose final stage is surer and right more often.
   */
  private static CascadeCalibration.HeldOut calibrated(int n, long seed) {
    Random r = new Random(seed);
    double[] c1 = new double[n];
    boolean[] k1 = new boolean[n];
    double[] c2 = new double[n];
    boolean[] k2 = new boolean[n];
    for (int i = 0; i < n; i++) {
      c1[i] = 0.3 + 0.7 * r.nextDouble();
      k1[i] = r.nextDouble() < c1[i];
      c2[i] = Math.min(1, c1[i] + 0.2 * r.nextDouble());
      k2[i] = k1[i] || r.nextDouble() < c2[i];
    }
    return new CascadeCalibration.HeldOut(c1, k1, c2, k2);
  }

  /** m unknown texts' confidences: less sure than the held-out ones, but not always. */
  private static CascadeCalibration.OutOfScope unsure(int m, long seed) {
    Random r = new Random(seed);
    double[] o1 = new double[m];
    double[] o2 = new double[m];
    for (int j = 0; j < m; j++) {
      o1[j] = 0.2 + 0.6 * r.nextDouble();
      o2[j] = 0.2 + 0.7 * r.nextDouble();
    }
    return new CascadeCalibration.OutOfScope(o1, o2);
  }

  @Test
  void shouldChooseWhatTheOneStageThresholdChoosesForAOneStageModel() {
    CascadeCalibration.HeldOut held = calibrated(2_000, 1);

    CascadeCalibration.Choice c = CascadeCalibration.choose(held, null, false, 0.9, 1, 0.01);

    assertThat(c.threshold())
        .isEqualTo(lowestThreshold(held.finalConfidence(), held.finalCorrect(), 0.9));
    assertThat(c.stageThreshold()).isEqualTo(SpecialistClassifier.NEVER);
    assertThat(c.firstStageShare()).isZero();
    assertThat(c.accuracy()).isGreaterThanOrEqualTo(0.9);
    assertThat(c.outOfScopeKept()).isNaN();
  }

  @Test
  void shouldLetTheFirstStageKeepWhatItIsSureOfAndStillReachTheTargetOverall() {
    CascadeCalibration.HeldOut held = calibrated(5_000, 2);

    CascadeCalibration.Choice cascade = CascadeCalibration.choose(held, null, true, 0.9, 1, 0.01);
    CascadeCalibration.Choice finalOnly =
        CascadeCalibration.choose(held, null, false, 0.9, 1, 0.01);

    CascadeCalibration.Choice cheaper = CascadeCalibration.choose(held, null, true, 0.9, 1, 0.1);

    assertThat(cascade.reached()).isTrue();
    assertThat(cascade.firstStageShare()).isPositive();
    // More coverage given up, more left to the first stage.
    assertThat(cheaper.firstStageShare()).isGreaterThan(cascade.firstStageShare());
    assertThat(cheaper.coverage()).isGreaterThanOrEqualTo(finalOnly.coverage() - 0.1);
    assertThat(cascade.stageThreshold()).isLessThan(1);
    // Within the slack of the best coverage any split achieves, which is at least the final
    // stage's alone.
    assertThat(cascade.coverage()).isGreaterThanOrEqualTo(finalOnly.coverage() - 0.01);
    // Recount from the thresholds: what both stages keep together is at the target.
    int kept = 0;
    int right = 0;
    int first = 0;
    for (int i = 0; i < held.size(); i++) {
      if (held.firstConfidence()[i] >= cascade.stageThreshold()) {
        kept++;
        first++;
        right += held.firstCorrect()[i] ? 1 : 0;
      } else if (held.finalConfidence()[i] >= cascade.threshold()) {
        kept++;
        right += held.finalCorrect()[i] ? 1 : 0;
      }
    }
    assertThat(right / (double) kept).isGreaterThanOrEqualTo(0.9);
    assertThat(kept / (double) held.size()).isCloseTo(cascade.coverage(), within(1e-12));
    assertThat(first / (double) held.size()).isCloseTo(cascade.firstStageShare(), within(1e-12));
  }

  @Test
  void shouldNotLetAFirstStageThatIsWrongWhenSureDecideAnything() {
    int n = 1_000;
    double[] c1 = new double[n];
    boolean[] k1 = new boolean[n];
    double[] c2 = new double[n];
    boolean[] k2 = new boolean[n];
    for (int i = 0; i < n; i++) {
      c1[i] = 0.99; // always sure, right half the time
      k1[i] = i % 2 == 0;
      c2[i] = 0.5 + 0.5 * i / n;
      k2[i] = true;
    }

    CascadeCalibration.Choice c =
        CascadeCalibration.choose(
            new CascadeCalibration.HeldOut(c1, k1, c2, k2), null, true, 0.95, 1, 0.01);

    assertThat(c.stageThreshold()).isGreaterThan(0.99);
    assertThat(c.firstStageShare()).isZero();
    assertThat(c.accuracy()).isEqualTo(1.0);
    assertThat(c.threshold()).isZero(); // the final stage is always right: keep all it sees
  }

  @Test
  void shouldRaiseTheThresholdUntilFewOutOfScopeTextsAreKept() {
    CascadeCalibration.HeldOut held = calibrated(3_000, 3);
    Random r = new Random(4);
    int m = 1_000;
    double[] o1 = new double[m];
    double[] o2 = new double[m];
    for (int j = 0; j < m; j++) {
      o1[j] = 0.2 + 0.6 * r.nextDouble(); // unknown texts: less sure, but not always
      o2[j] = 0.2 + 0.7 * r.nextDouble();
    }
    CascadeCalibration.OutOfScope oos = new CascadeCalibration.OutOfScope(o1, o2);

    CascadeCalibration.Choice free = CascadeCalibration.choose(held, null, true, 0.8, 1, 0.01);
    CascadeCalibration.Choice bounded = CascadeCalibration.choose(held, oos, true, 0.8, 0.05, 0.01);

    assertThat(bounded.outOfScopeKept()).isLessThanOrEqualTo(0.05);
    int keptOos = 0;
    for (int j = 0; j < m; j++) {
      keptOos += o1[j] >= bounded.stageThreshold() || o2[j] >= bounded.threshold() ? 1 : 0;
    }
    assertThat(keptOos / (double) m).isCloseTo(bounded.outOfScopeKept(), within(1e-12));
    assertThat(bounded.coverage()).isLessThan(free.coverage());
    assertThat(bounded.accuracy()).isGreaterThanOrEqualTo(0.8);
  }

  @Test
  void shouldBoundTheKnownOutOfScopeTextsOnTheirOwn() {
    CascadeCalibration.HeldOut held = calibrated(3_000, 3);
    Random r = new Random(6);
    int m = 1_000;
    // The left-out labels' examples are easy to tell apart; the known texts (a sample of the
    // other traffic) are not.
    double[] e1 = new double[m];
    double[] e2 = new double[m];
    double[] k1 = new double[m];
    double[] k2 = new double[m];
    for (int j = 0; j < m; j++) {
      e1[j] = 0.1 + 0.3 * r.nextDouble();
      e2[j] = 0.1 + 0.3 * r.nextDouble();
      k1[j] = 0.2 + 0.6 * r.nextDouble();
      k2[j] = 0.2 + 0.7 * r.nextDouble();
    }
    CascadeCalibration.OutOfScope leftOut = new CascadeCalibration.OutOfScope(e1, e2);
    CascadeCalibration.OutOfScope known = new CascadeCalibration.OutOfScope(k1, k2);

    CascadeCalibration.Choice leftOutOnly =
        CascadeCalibration.choose(held, leftOut, true, 0.8, 0.05, 0.01);
    CascadeCalibration.Choice both =
        CascadeCalibration.choose(held, leftOut, known, true, 0.8, 0.05, 0.01);

    assertThat(leftOutOnly.knownOutOfScopeKept()).isNaN();
    assertThat(both.knownOutOfScopeKept()).isLessThanOrEqualTo(0.05);
    int kept = 0;
    for (int j = 0; j < m; j++) {
      kept += k1[j] >= both.stageThreshold() || k2[j] >= both.threshold() ? 1 : 0;
    }
    assertThat(kept / (double) m).isCloseTo(both.knownOutOfScopeKept(), within(1e-12));
    assertThat(both.outOfScopeKept()).isLessThanOrEqualTo(0.05);
    // The known texts bind where the left-out labels did not.
    assertThat(both.coverage()).isLessThan(leftOutOnly.coverage());
    assertThat(both.accuracy()).isGreaterThanOrEqualTo(0.8);
    CascadeCalibration.Choice knownOnly =
        CascadeCalibration.choose(held, null, known, true, 0.8, 0.05, 0.01);
    assertThat(knownOnly.outOfScopeKept()).isNaN();
    assertThat(knownOnly.knownOutOfScopeKept()).isLessThanOrEqualTo(0.05);
  }

  @Test
  void shouldShowWhatEachOutOfScopeBoundGivesOnTheSameHeldOutPredictions() {
    CascadeCalibration.HeldOut held = calibrated(3_000, 3);
    CascadeCalibration.OutOfScope oos = unsure(1_000, 4);

    java.util.List<CascadeCalibration.Point> points =
        CascadeCalibration.tradeOff(
            b -> CascadeCalibration.choose(held, oos, true, 0.8, b, 0.01), 0.3);

    assertThat(points)
        .extracting(CascadeCalibration.Point::bound)
        .containsExactly(0.05, 0.10, 0.25, 0.3, 0.50, 0.75, 1.0);
    for (CascadeCalibration.Point p : points) {
      // Each point is what training with that bound would choose, and keeps it.
      assertThat(p.choice())
          .isEqualTo(CascadeCalibration.choose(held, oos, true, 0.8, p.bound(), 0.01));
      assertThat(p.choice().outOfScopeKept()).isLessThanOrEqualTo(p.bound());
      assertThat(p.choice().accuracy()).isGreaterThanOrEqualTo(0.8);
    }
    // A looser bound never costs coverage; no bound keeps the most.
    for (int i = 1; i < points.size(); i++) {
      assertThat(points.get(i).choice().coverage())
          .isGreaterThanOrEqualTo(points.get(i - 1).choice().coverage() - 0.01);
    }
    assertThat(points.get(points.size() - 1).choice().coverage())
        .isCloseTo(
            CascadeCalibration.choose(held, null, true, 0.8, 1, 0.01).coverage(), within(1e-12));
    assertThat(points.get(0).choice().coverage())
        .isLessThan(points.get(points.size() - 1).choice().coverage());
    // A chosen bound already among the usual ones is listed once.
    assertThat(
            CascadeCalibration.tradeOff(
                b -> CascadeCalibration.choose(held, oos, true, 0.8, b, 0.01), 0.25))
        .hasSize(6);
  }

  @Test
  void shouldEscalateEverythingWhenNoThresholdReachesTheTarget() {
    double[] c = {0.9, 0.8, 0.7};
    boolean[] wrong = {false, false, false};

    CascadeCalibration.Choice choice =
        CascadeCalibration.choose(
            new CascadeCalibration.HeldOut(c, wrong, c, wrong), null, true, 0.9, 1, 0.01);

    assertThat(choice.reached()).isFalse();
    assertThat(choice.threshold()).isEqualTo(1);
    assertThat(choice.stageThreshold()).isEqualTo(SpecialistClassifier.NEVER);
    assertThat(choice.coverage()).isZero();
  }

  /**
   * The one-stage rule written out plainly (the trainer's before cascades): the lowest confidence
   * at which the kept examples reach the target; 1 when none does, 0 when all together do.
   */
  private static double lowestThreshold(double[] confidence, boolean[] correct, double target) {
    Integer[] order =
        java.util.stream.IntStream.range(0, confidence.length).boxed().toArray(Integer[]::new);
    java.util.Arrays.sort(
        order, java.util.Comparator.comparingDouble((Integer i) -> -confidence[i]));
    double best = 1;
    int right = 0;
    for (int n = 1; n <= order.length; n++) {
      right += correct[order[n - 1]] ? 1 : 0;
      boolean lastOfTies = n == order.length || confidence[order[n]] < confidence[order[n - 1]];
      if (lastOfTies && right >= target * n) {
        best = confidence[order[n - 1]];
      }
    }
    return best == confidence[order[order.length - 1]] ? 0 : best;
  }
}
