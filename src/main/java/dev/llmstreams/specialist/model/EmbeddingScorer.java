package dev.llmstreams.specialist.model;

import dev.llmstreams.runtime.text.EncoderModel;
import dev.llmstreams.runtime.text.SentenceEncoder;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.List;

/**
 * Softmax regression over sentence embeddings, each dimension standardized with the training mean
 * and deviation. The artifact names the encoder ({@link #TYPE}: the encoder's id, then the
 * weights); a member of {@link #MINILM_TYPE}, written before the encoder could be chosen, has the
 * same weights without the id and was trained on MiniLM embeddings.
 */
record EmbeddingScorer(SentenceEncoder encoder, float[] mean, float[] scale, SoftmaxRegression head)
    implements Scorer {
  /** The member type this build writes: the encoder's id, then the standardization and the head. */
  static final byte TYPE = 3;

  /** The member type of artifacts written before the encoder was recorded: MiniLM, implicitly. */
  static final byte MINILM_TYPE = 2;

  static final int DIMENSIONS = SentenceEncoder.DIMENSIONS;

  /** The standardization of these embeddings (rows of training vectors). */
  static float[][] standardization(float[][] embeddings) {
    float[] mean = new float[DIMENSIONS];
    float[] scale = new float[DIMENSIONS];
    for (int d = 0; d < DIMENSIONS; d++) {
      double sum = 0;
      for (float[] e : embeddings) {
        sum += e[d];
      }
      double m = sum / embeddings.length;
      double squares = 0;
      for (float[] e : embeddings) {
        squares += (e[d] - m) * (e[d] - m);
      }
      double sd = Math.sqrt(squares / embeddings.length);
      mean[d] = (float) m;
      scale[d] = (float) (sd == 0 ? 0 : 1 / sd);
    }
    return new float[][] {mean, scale};
  }

  static SparseVector input(float[] embedding, float[] mean, float[] scale) {
    float[] v = new float[DIMENSIONS];
    for (int d = 0; d < DIMENSIONS; d++) {
      v[d] = (embedding[d] - mean[d]) * scale[d];
    }
    return SparseVector.dense(v);
  }

  @Override
  public double[] logits(String text) {
    return head.logits(input(encoder.embed(text), mean, scale));
  }

  @Override
  public double[][] logits(List<String> texts) {
    float[][] embeddings = encoder.embed(texts);
    double[][] out = new double[texts.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = head.logits(input(embeddings[i], mean, scale));
    }
    return out;
  }

  @Override
  public String stage() {
    return "embedding";
  }

  @Override
  public byte type() {
    return TYPE;
  }

  /** The encoder's id, then what a {@link #MINILM_TYPE} member held: standardization and head. */
  @Override
  public void write(DataOutput out) throws IOException {
    out.writeUTF(encoder.spec().id());
    out.writeInt(DIMENSIONS);
    for (int d = 0; d < DIMENSIONS; d++) {
      out.writeFloat(mean[d]);
      out.writeFloat(scale[d]);
    }
    head.write(out);
  }

  /**
   * The encoder a {@link #TYPE} member names (read before its weights: {@link #read} then reads
   * them).
   *
   * @throws IllegalArgumentException when this build has no encoder of that id
   */
  static EncoderModel readEncoder(DataInput in) throws IOException {
    String id = in.readUTF();
    try {
      return EncoderModel.of(id);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "the embedding member was trained with sentence encoder '"
              + id
              + "', which this build cannot run: "
              + e.getMessage(),
          e);
    }
  }

  /**
   * The standardization and head, embedding with {@code encoder} (of the model read by {@link
   * #readEncoder}, or MiniLM for a {@link #MINILM_TYPE} member).
   */
  static EmbeddingScorer read(DataInput in, int classes, SentenceEncoder encoder)
      throws IOException {
    int dimensions = in.readInt();
    if (dimensions != DIMENSIONS) {
      throw new IllegalArgumentException(
          "an embedding model of " + dimensions + " dimensions; the encoder has " + DIMENSIONS);
    }
    float[] mean = new float[DIMENSIONS];
    float[] scale = new float[DIMENSIONS];
    for (int d = 0; d < DIMENSIONS; d++) {
      mean[d] = in.readFloat();
      scale[d] = in.readFloat();
    }
    return new EmbeddingScorer(
        encoder, mean, scale, SoftmaxRegression.read(in, DIMENSIONS, classes));
  }
}
