package dev.llmstreams.specialist.model;

import java.io.DataOutput;
import java.io.IOException;
import java.util.List;

/** One member of a classifier: a text's raw class scores (logits), before calibration. */
interface Scorer {
  double[] logits(String text);

  /** Logits of many texts; may batch (the sentence encoder runs faster on batches). */
  default double[][] logits(List<String> texts) {
    double[][] out = new double[texts.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = logits(texts.get(i));
    }
    return out;
  }

  /** The name of this member as a cascade stage ({@code hashed}, {@code embedding}). */
  String stage();

  /** The artifact's tag for this kind of member. */
  byte type();

  void write(DataOutput out) throws IOException;
}
