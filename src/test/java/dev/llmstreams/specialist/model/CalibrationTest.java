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
