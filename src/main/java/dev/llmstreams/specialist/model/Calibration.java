package dev.llmstreams.specialist.model;

/**
 * Temperature scaling of logits, fitted on held-out examples ({@link CascadeCalibration} chooses
 * the thresholds).
 */
public final class Calibration {
  private static final double MIN_LOG_T = Math.log(0.05);
  private static final double MAX_LOG_T = Math.log(20);
  private static final int SEARCH_STEPS = 60;

  private Calibration() {}

  /**
   * The temperature T minimizing the cross-entropy of softmax(logits / T) on held-out examples
   * against their labels, smoothed by {@link #smoothing(int)}: each example's target puts 1 - ε on
   * its label and spreads ε over the others. Without it, held-out predictions that are all right (a
   * few easy labels) drive T to its lower bound and every confidence to exactly 1.0; with it
   * confidences stay about as far from 1 as n right predictions out of n can show (ε = 1/(n + 2),
   * Laplace's rule of succession), which on thousands of examples changes T by little. The loss is
   * convex in 1/T, so a golden-section search on log T finds its minimum.
   */
  public static double fitTemperature(double[][] logits, int[] labels) {
    double epsilon = smoothing(logits.length);
    double golden = (Math.sqrt(5) - 1) / 2;
    double lo = MIN_LOG_T;
    double hi = MAX_LOG_T;
    double a = hi - golden * (hi - lo);
    double b = lo + golden * (hi - lo);
    double fa = smoothedNll(logits, labels, epsilon, Math.exp(a));
    double fb = smoothedNll(logits, labels, epsilon, Math.exp(b));
    for (int i = 0; i < SEARCH_STEPS; i++) {
      if (fa <= fb) {
        hi = b;
        b = a;
        fb = fa;
        a = hi - golden * (hi - lo);
        fa = smoothedNll(logits, labels, epsilon, Math.exp(a));
      } else {
        lo = a;
        a = b;
        fa = fb;
        b = lo + golden * (hi - lo);
        fb = smoothedNll(logits, labels, epsilon, Math.exp(b));
      }
    }
    return Math.exp((lo + hi) / 2);
  }

  /**
   * The share of each target {@link #fitTemperature} spreads over the other labels: Laplace's
   * estimate of the error rate when all {@code n} held-out predictions are right.
   */
  static double smoothing(int n) {
    return 1.0 / (n + 2);
  }

  /**
   * Mean cross-entropy of softmax(logits / temperature) against targets of 1 - epsilon on the true
   * label and epsilon / (K - 1) on each other one (the plain NLL for one label, or epsilon 0).
   */
  static double smoothedNll(double[][] logits, int[] labels, double epsilon, double temperature) {
    double sum = 0;
    for (int i = 0; i < logits.length; i++) {
      // log p_j = z_j / T - log-sum-exp(z / T): exact where p_j itself would underflow to 0.
      double[] z = logits[i];
      int k = z.length;
      double max = Double.NEGATIVE_INFINITY;
      for (double v : z) {
        max = Math.max(max, v / temperature);
      }
      double exp = 0;
      for (double v : z) {
        exp += Math.exp(v / temperature - max);
      }
      double logSum = max + Math.log(exp);
      double others = k > 1 ? epsilon / (k - 1) : 0;
      double own = k > 1 ? 1 - epsilon : 1;
      for (int j = 0; j < k; j++) {
        double target = j == labels[i] ? own : others;
        sum -= target * (z[j] / temperature - logSum);
      }
    }
    return sum / logits.length;
  }

  /** Mean negative log-likelihood of the true labels under softmax(logits / temperature). */
  public static double nll(double[][] logits, int[] labels, double temperature) {
    double sum = 0;
    for (int i = 0; i < logits.length; i++) {
      double[] p = probabilities(logits[i], temperature);
      sum -= Math.log(Math.max(p[labels[i]], 1e-300));
    }
    return sum / logits.length;
  }

  static double[] probabilities(double[] logits, double temperature) {
    double[] p = new double[logits.length];
    for (int k = 0; k < p.length; k++) {
      p[k] = logits[k] / temperature;
    }
    SoftmaxRegression.softmaxInPlace(p);
    return p;
  }
}
