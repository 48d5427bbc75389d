package dev.llmstreams.specialist.model;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * Softmax regression over hashed word and character n-grams: tens of microseconds a text, no native
 * code.
 */
record HashedScorer(HashedFeatures features, SoftmaxRegression head) implements Scorer {
  static final byte TYPE = 1;

  @Override
  public double[] logits(String text) {
    return head.logits(features.vector(text));
  }

  @Override
  public String stage() {
    return "hashed";
  }

  @Override
  public byte type() {
    return TYPE;
  }

  @Override
  public void write(DataOutput out) throws IOException {
    features.write(out);
    head.write(out);
  }

  static HashedScorer read(DataInput in, int classes) throws IOException {
    return new HashedScorer(
        HashedFeatures.read(in), SoftmaxRegression.read(in, HashedFeatures.DIMENSIONS, classes));
  }
}
