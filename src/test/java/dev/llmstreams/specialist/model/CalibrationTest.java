package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class CalibrationTest {
  @Test
  void shouldRecoverTheTemperatureThatGeneratedTheLabels() {
    Random random = new Random(3);
    int n = 20_000;
    double[][] logits = new double[n][5];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < 5; k++) {
        logits[i][k] = random.nextGaussian() * 3;
      }
      // Labels drawn from softmax(logits / 2): the logits are overconfident by a factor 2.
      double[] p = Calibration.probabilities(logits[i], 2);
      double u = random.nextDouble();
      int k = 0;
      while (k < 4 && (u -= p[k]) > 0) {
        k++;
      }
      labels[i] = k;
    }

    double t = Calibration.fitTemperature(logits, labels);

    assertThat(t).isCloseTo(2, within(0.1));
    assertThat(Calibration.nll(logits, labels, t)).isLessThan(Calibration.nll(logits, labels, 1));
  }

  @Test
  void shouldKeepConfidencesBelowOneWhenEveryHeldOutPredictionIsRight() {
    // 45 held-out predictions of 3 labels, all right by a wide margin: the plain NLL falls all the
    // way to the lowest temperature, where every confidence is 1.0 in doubles.
    Random random = new Random(5);
    int n = 45;
    double[][] logits = new double[n][3];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 3;
      for (int k = 0; k < 3; k++) {
        logits[i][k] = random.nextGaussian() * 0.3;
      }
      logits[i][labels[i]] += 4 + random.nextDouble() * 4;
    }
    assertThat(Calibration.nll(logits, labels, 0.05))
        .isLessThan(Calibration.nll(logits, labels, 1));
    assertThat(Calibration.probabilities(logits[0], 0.05)[labels[0]]).isEqualTo(1.0);

    double t = Calibration.fitTemperature(logits, labels);

    double epsilon = Calibration.smoothing(n);
    assertThat(epsilon).isEqualTo(1.0 / 47);
    double highest = 0;
    double mean = 0;
    for (int i = 0; i < n; i++) {
      double p = Calibration.probabilities(logits[i], t)[labels[i]];
      highest = Math.max(highest, p);
      mean += p / n;
    }
    assertThat(t).isGreaterThan(0.5);
    assertThat(highest).isLessThan(1 - epsilon / 100);
    // About as sure as 45 right out of 45 shows, not more.
    assertThat(mean).isBetween(1 - 3 * epsilon, 1 - epsilon / 3);
  }

  @Test
  void shouldMatchThePlainLikelihoodWhereTheSmoothingIsZero() {
    double[][] logits = {{2, 0, -1}, {0.5, 1, 0}, {-1, 3, 0.2}};
    int[] labels = {0, 0, 1};

    for (double t : new double[] {0.05, 0.5, 1, 7}) {
      assertThat(Calibration.smoothedNll(logits, labels, 0, t))
          .isCloseTo(Calibration.nll(logits, labels, t), within(1e-12));
    }
    // An extreme logit gap: the log-softmax is exact where the probability underflows to 0.
    double[][] far = {{0, -2000}};
    assertThat(Calibration.smoothedNll(far, new int[] {0}, 0.5, 1)).isCloseTo(1000, within(1e-6));
  }

  @Test
  void shouldChooseTheLowestThresholdThatKeepsTheTargetAccuracy() {
    double[] confidence = {0.95, 0.9, 0.8, 0.7, 0.6, 0.5};
    boolean[] correct = {true, true, true, false, true, false};

    // Kept at 0.8: 3 of 3 right; at 0.6: 4 of 5 (0.8); at 0.5: 4 of 6.
    assertThat(threshold(confidence, correct, 1.0)).isEqualTo(0.8);
    assertThat(threshold(confidence, correct, 0.8)).isEqualTo(0.6);
    assertThat(threshold(confidence, correct, 0.6)).isZero();
    assertThat(threshold(new double[] {0.9}, new boolean[] {false}, 0.5)).isEqualTo(1.0);
  }

  @Test
  void shouldKeepOrDropTiedConfidencesTogether() {
    // 0.8 twice, one right and one wrong: a threshold of 0.8 keeps both (2 of 3 right), so 0.9 is
    // the lowest for 1.0.
    double[] confidence = {0.9, 0.8, 0.8};
    boolean[] correct = {true, true, false};

    assertThat(threshold(confidence, correct, 1.0)).isEqualTo(0.9);
  }

  /** The threshold a one-stage model gets, without out-of-scope predictions. */
  private static double threshold(double[] confidence, boolean[] correct, double target) {
    return CascadeCalibration.choose(
            new CascadeCalibration.HeldOut(confidence, correct, confidence, correct),
            null,
            false,
            target,
            1,
            0)
        .threshold();
  }
}
