package dev.llmstreams.specialist.model;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import java.util.function.IntConsumer;

/**
 * Multinomial logistic regression trained by plain SGD on sparse vectors: learning rate decaying
 * linearly to 1% of its start, L2 weight decay, one seeded shuffle per epoch (same data and seed,
 * same weights). Weights are stored feature-major, so a sparse example touches contiguous rows.
 */
final class SoftmaxRegression {
  private static final double FINAL_RATE_SHARE = 0.01;
  // The weight decay is kept as one scale factor (W = scale·w), so a step costs the example's
  // features, not all weights.
  private static final double MIN_SCALE = 1e-6;

  final int dimensions;
  final int classes;
  final float[] weights;
  final float[] bias;

  SoftmaxRegression(int dimensions, int classes, float[] weights, float[] bias) {
    this.dimensions = dimensions;
    this.classes = classes;
    this.weights = weights;
    this.bias = bias;
  }

  /**
   * @param epochDone told the number of each finished epoch
   */
  static SoftmaxRegression train(
      List<SparseVector> x,
      int[] y,
      int dimensions,
      int classes,
      SgdRecipe recipe,
      long seed,
      IntConsumer epochDone) {
    float[] w = new float[dimensions * classes];
    float[] b = new float[classes];
    double scale = 1;
    int[] order = new int[x.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Random random = new Random(seed);
    long steps = (long) recipe.epochs() * x.size();
    long step = 0;
    double[] z = new double[classes];
    float[] g = new float[classes];
    for (int epoch = 1; epoch <= recipe.epochs(); epoch++) {
      shuffle(order, random);
      for (int i : order) {
        double rate = recipe.learningRate() * (1 - (1 - FINAL_RATE_SHARE) * step / (double) steps);
        step++;
        SparseVector v = x.get(i);
        logits(w, b, scale, classes, v, z);
        softmaxInPlace(z);
        z[y[i]] -= 1;
        scale *= 1 - rate * recipe.l2();
        for (int k = 0; k < classes; k++) {
          g[k] = (float) z[k];
          b[k] -= (float) (rate * z[k]);
        }
        double stepOverScale = rate / scale;
        int[] idx = v.indices();
        float[] val = v.values();
        for (int f = 0; f < idx.length; f++) {
          axpy(w, idx[f] * classes, (float) (-stepOverScale * val[f]), g, classes);
        }
        if (scale < MIN_SCALE) {
          rescale(w, scale);
          scale = 1;
        }
      }
      epochDone.accept(epoch);
    }
    rescale(w, scale);
    return new SoftmaxRegression(dimensions, classes, w, b);
  }

  double[] logits(SparseVector v) {
    double[] out = new double[classes];
    logits(weights, bias, 1, classes, v, out);
    return out;
  }

  private static void logits(
      float[] w, float[] b, double scale, int classes, SparseVector v, double[] out) {
    float[] acc = new float[classes];
    int[] idx = v.indices();
    float[] val = v.values();
    for (int f = 0; f < idx.length; f++) {
      axpy(acc, w, idx[f] * classes, val[f], classes);
    }
    for (int k = 0; k < classes; k++) {
      out[k] = acc[k] * scale + b[k];
    }
  }

  /** w[row + k] += a·g[k]: a plain float loop the JIT vectorizes. */
  private static void axpy(float[] w, int row, float a, float[] g, int classes) {
    for (int k = 0; k < classes; k++) {
      w[row + k] += a * g[k];
    }
  }

  /** acc[k] += x·w[row + k]. */
  private static void axpy(float[] acc, float[] w, int row, float x, int classes) {
    for (int k = 0; k < classes; k++) {
      acc[k] += x * w[row + k];
    }
  }

  /** Softmax of logits in place, shifted by their maximum so nothing overflows. */
  static void softmaxInPlace(double[] z) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : z) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (int k = 0; k < z.length; k++) {
      z[k] = Math.exp(z[k] - max);
      sum += z[k];
    }
    for (int k = 0; k < z.length; k++) {
      z[k] /= sum;
    }
  }

  /**
   * This model as it is stored: per feature row, weights under {@value #PRUNED_SHARE} of the row's
   * largest are dropped and the rest quantized to 8 bits against that largest. Full float rows of
   * the hashed model would be 40 MB; this keeps the artifact a few MB at no measured cost in
   * accuracy (see docs/specialist.md).
   */
  SoftmaxRegression quantized() {
    float[] w = new float[weights.length];
    for (int r = 0; r < dimensions; r++) {
      float step = rowStep(r);
      for (int k = 0; k < classes; k++) {
        w[r * classes + k] = quantum(weights[r * classes + k], step) * step;
      }
    }
    return new SoftmaxRegression(dimensions, classes, w, bias.clone());
  }

  static final double PRUNED_SHARE = 0.05;

  private float rowStep(int row) {
    float max = 0;
    for (int k = 0; k < classes; k++) {
      max = Math.max(max, Math.abs(weights[row * classes + k]));
    }
    return max / 127f;
  }

  private static int quantum(float weight, float step) {
    return step == 0 || Math.abs(weight) < PRUNED_SHARE * 127 * step
        ? 0
        : Math.round(weight / step);
  }

  /** Writes the {@link #quantized} form: rows with no weight left cost two bytes. */
  void write(DataOutput out) throws IOException {
    out.writeInt(dimensions);
    out.writeInt(classes);
    for (float b : bias) {
      out.writeFloat(b);
    }
    for (int r = 0; r < dimensions; r++) {
      float step = rowStep(r);
      int kept = 0;
      for (int k = 0; k < classes; k++) {
        kept += quantum(weights[r * classes + k], step) != 0 ? 1 : 0;
      }
      out.writeShort(kept);
      if (kept == 0) {
        continue;
      }
      out.writeFloat(step);
      for (int k = 0; k < classes; k++) {
        int q = quantum(weights[r * classes + k], step);
        if (q != 0) {
          out.writeShort(k);
          out.writeByte(q);
        }
      }
    }
  }

  static SoftmaxRegression read(DataInput in, int expectedDimensions, int expectedClasses)
      throws IOException {
    int dimensions = in.readInt();
    int classes = in.readInt();
    if (dimensions != expectedDimensions || classes != expectedClasses) {
      throw new IllegalArgumentException(
          "a softmax layer of "
              + dimensions
              + "x"
              + classes
              + " where "
              + expectedDimensions
              + "x"
              + expectedClasses
              + " was expected");
    }
    float[] bias = new float[classes];
    for (int k = 0; k < classes; k++) {
      bias[k] = in.readFloat();
    }
    float[] w = new float[dimensions * classes];
    for (int r = 0; r < dimensions; r++) {
      int kept = in.readUnsignedShort();
      if (kept > classes) {
        throw new IllegalArgumentException(
            "row " + r + " has " + kept + " weights for " + classes + " classes");
      }
      if (kept == 0) {
        continue;
      }
      float step = in.readFloat();
      for (int i = 0; i < kept; i++) {
        int k = in.readUnsignedShort();
        if (k >= classes) {
          throw new IllegalArgumentException("row " + r + " names class " + k + " of " + classes);
        }
        w[r * classes + k] = in.readByte() * step;
      }
    }
    return new SoftmaxRegression(dimensions, classes, w, bias);
  }

  private static void rescale(float[] w, double scale) {
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (w[i] * scale);
    }
  }

  private static void shuffle(int[] a, Random random) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
