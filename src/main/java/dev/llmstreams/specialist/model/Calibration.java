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
   * The temperature T minimizing the negative log-likelihood of softmax(logits / T) on held-out
   * examples. The NLL is unimodal in log T, so a golden-section search finds it.
   */
  public static double fitTemperature(double[][] logits, int[] labels) {
    double golden = (Math.sqrt(5) - 1) / 2;
    double lo = MIN_LOG_T;
    double hi = MAX_LOG_T;
    double a = hi - golden * (hi - lo);
    double b = lo + golden * (hi - lo);
    double fa = nll(logits, labels, Math.exp(a));
    double fb = nll(logits, labels, Math.exp(b));
    for (int i = 0; i < SEARCH_STEPS; i++) {
      if (fa <= fb) {
        hi = b;
        b = a;
        fb = fa;
        a = hi - golden * (hi - lo);
        fa = nll(logits, labels, Math.exp(a));
      } else {
        lo = a;
        a = b;
        fa = fb;
        b = lo + golden * (hi - lo);
        fb = nll(logits, labels, Math.exp(b));
      }
    }
    return Math.exp((lo + hi) / 2);
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
