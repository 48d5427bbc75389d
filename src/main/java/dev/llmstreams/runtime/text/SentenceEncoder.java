package dev.llmstreams.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Sentence embeddings from one of the {@link EncoderModel}s (int8-quantized, 384 dimensions; by
 * default all-MiniLM-L6-v2), run in-process by ONNX Runtime from the model file inside its
 * langchain4j embeddings jar: no network, nothing to download.
 *
 * <p>The model loads once, lazily, on the first {@link #embed} call (under a second); calls are
 * thread-safe and may run concurrently (one ONNX session, one intra-op thread per call, so callers
 * choose the parallelism). Texts are truncated to {@value #MAX_TOKENS} word pieces. Vectors are
 * L2-normalised, so a dot product is the cosine similarity ({@link #cosine}). Same input, same
 * machine: same vectors.
 *
 * <p>Optionally {@link #embed(String)} keeps the exact vectors of the texts it embedded last (an
 * LRU cache of a chosen size, off by default): a text seen again, e.g. a classified text whose
 * nearest examples are then looked up, costs a map lookup instead of a model run. A cached vector
 * is the text's own batch-of-one vector, so the cache never changes an answer.
 */
public final class SentenceEncoder implements AutoCloseable {
  /** Dimensions of every vector. */
  public static final int DIMENSIONS = 384;

  /**
   * Word pieces per text (the model was trained on 128-token inputs); the rest of a text is
   * ignored.
   */
  public static final int MAX_TOKENS = 128;

  public static final int BATCH = 32;

  private final EncoderModel spec;
  private final int intraOpThreads;
  private final VectorCache cache;
  private final Object lock = new Object();
  private volatile Loaded loaded;
  private volatile boolean closed;

  private record Loaded(
      OrtEnvironment env, OrtSession session, HuggingFaceTokenizer tokenizer, boolean typeIds) {}

  /** MiniLM; cheap: nothing loads until the first {@link #embed} call. */
  public SentenceEncoder() {
    this(EncoderModel.MINILM);
  }

  /** The given encoder, no cache; cheap: nothing loads until the first {@link #embed} call. */
  public SentenceEncoder(EncoderModel spec) {
    this(spec, 0);
  }

  /**
   * The given encoder whose {@link #embed(String)} keeps the vectors of the last {@code cacheSize}
   * texts (0: no cache); cheap: nothing loads until the first {@link #embed} call.
   */
  public SentenceEncoder(EncoderModel spec, int cacheSize) {
    this(spec, cacheSize, 1);
  }

  /**
   * With {@code intraOpThreads} ONNX Runtime threads per call: 1 everywhere but in measurements
   * (one text at a time on two busy cores, 2 threads embedded about 2.5 times slower: MiniLM 200/s
   * against 500-540/s, e5-small and bge-small alike).
   */
  SentenceEncoder(EncoderModel spec, int cacheSize, int intraOpThreads) {
    if (cacheSize < 0) {
      throw new IllegalArgumentException("cacheSize must be at least 0: " + cacheSize);
    }
    if (intraOpThreads < 1) {
      throw new IllegalArgumentException("intraOpThreads must be at least 1: " + intraOpThreads);
    }
    this.spec = spec;
    this.cache = cacheSize == 0 ? null : new VectorCache(cacheSize);
    this.intraOpThreads = intraOpThreads;
  }

  /** Which encoder this is. */
  public EncoderModel spec() {
    return spec;
  }

  /**
   * Embeds texts in batches of {@value #BATCH} (grouped by length, so little padding); row {@code
   * i} is the L2-normalised vector of {@code texts.get(i)}. Same list, same vectors. A text's
   * vector shifts slightly with its batch mates (cosine about 0.99 to its own vector), as the int8
   * model quantizes activations per batch: use {@link #embed(List, int)} with batch size 1 where a
   * text must always get exactly the same vector.
   */
  public float[][] embed(List<String> texts) {
    return embed(texts, BATCH);
  }

  /**
   * Embeds texts {@code batchSize} at a time: 1 gives every text its own exact vector whatever else
   * is in the list (same as {@link #embed(String)}); larger batches are faster.
   */
  public float[][] embed(List<String> texts, int batchSize) {
    return embed(texts, batchSize, done -> {});
  }

  /**
   * {@link #embed(List, int)}, telling {@code embedded} how many texts are done after each batch
   * (the vectors are the same).
   */
  public float[][] embed(List<String> texts, int batchSize, IntConsumer embedded) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be at least 1: " + batchSize);
    }
    Loaded m = model();
    float[][] out = new float[texts.size()][];
    // Group similar lengths so a batch pads little; the order is a pure function of the input
    // (deterministic).
    Integer[] order = IntStream.range(0, texts.size()).boxed().toArray(Integer[]::new);
    Arrays.sort(
        order,
        Comparator.comparingInt((Integer i) -> texts.get(i).length()).thenComparingInt(i -> i));
    for (int from = 0; from < order.length; from += batchSize) {
      int[] batch =
          Arrays.stream(order, from, Math.min(order.length, from + batchSize))
              .mapToInt(Integer::intValue)
              .toArray();
      float[][] vectors =
          embedBatch(
              m, spec, Arrays.stream(batch).mapToObj(i -> spec.prefix() + texts.get(i)).toList());
      for (int k = 0; k < batch.length; k++) {
        out[batch[k]] = vectors[k];
      }
      embedded.accept(from + batch.length);
    }
    return out;
  }

  /**
   * One text's exact vector (a batch of one), from the cache when this encoder has one and the text
   * is in it.
   */
  public float[] embed(String text) {
    if (cache == null) {
      return embed(List.of(text), 1)[0];
    }
    if (closed) {
      throw new IllegalStateException("the sentence encoder is closed");
    }
    float[] cached = cache.get(text);
    if (cached != null) {
      return cached.clone();
    }
    float[] v = embed(List.of(text), 1)[0];
    cache.put(text, v.clone());
    return v;
  }

  /** Texts {@link #embed(String)} found in the cache (0 without a cache). */
  public long cacheHits() {
    return cache == null ? 0 : cache.hits.sum();
  }

  /** Texts {@link #embed(String)} did not find in the cache and embedded (0 without a cache). */
  public long cacheMisses() {
    return cache == null ? 0 : cache.misses.sum();
  }

  /** Vectors in the cache now. */
  public int cachedVectors() {
    return cache == null ? 0 : cache.size();
  }

  /** The most vectors the cache keeps (0: no cache). */
  public int cacheCapacity() {
    return cache == null ? 0 : cache.capacity;
  }

  /** Cosine similarity of two L2-normalised vectors (their dot product). */
  public static float cosine(float[] a, float[] b) {
    float s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  /** Loads the model now (otherwise the first {@link #embed} does); idempotent. */
  public void load() {
    model();
  }

  private Loaded model() {
    Loaded m = loaded;
    if (m != null) {
      return m;
    }
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("the sentence encoder is closed");
      }
      if (loaded == null) {
        loaded = open(spec, intraOpThreads);
      }
      return loaded;
    }
  }

  private static Loaded open(EncoderModel spec, int intraOpThreads) {
    defaultDjlCacheDir();
    try (InputStream modelIn = resource(spec.model(), spec);
        InputStream tokenizerIn = resource(spec.tokenizer(), spec)) {
      byte[] modelBytes = modelIn.readAllBytes();
      OrtEnvironment env = OrtEnvironment.getEnvironment();
      OrtSession.SessionOptions options = new OrtSession.SessionOptions();
      // One thread per run: the engine's executor decides the parallelism, and ORT's own pool would
      // oversubscribe.
      options.setIntraOpNumThreads(intraOpThreads);
      options.setInterOpNumThreads(1);
      OrtSession session = env.createSession(modelBytes, options);
      Map<String, String> tokenizerOptions =
          Map.of(
              "padding", "false", "truncation", "true", "maxLength", Integer.toString(MAX_TOKENS));
      HuggingFaceTokenizer tokenizer =
          HuggingFaceTokenizer.newInstance(tokenizerIn, tokenizerOptions);
      return new Loaded(
          env, session, tokenizer, session.getInputNames().contains("token_type_ids"));
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read the " + spec.id() + " model from the classpath", e);
    } catch (OrtException e) {
      throw new IllegalStateException(
          "ONNX Runtime cannot load the " + spec.id() + " model: " + e.getMessage(), e);
    }
  }

  private static InputStream resource(String name, EncoderModel spec) throws IOException {
    InputStream in = SentenceEncoder.class.getResourceAsStream(name);
    if (in == null) {
      throw new IOException(name + " is not on the classpath (dependency " + spec.artifact() + ")");
    }
    return in;
  }

  /**
   * The DJL tokenizer unpacks its native library into {@code ~/.djl.ai} unless told otherwise; keep
   * it under the JVM's tmpdir (which the launcher points at {@code .llm-streams/tmp}) when nobody
   * chose a place.
   */
  private static void defaultDjlCacheDir() {
    if (System.getenv("DJL_CACHE_DIR") == null && System.getProperty("DJL_CACHE_DIR") == null) {
      System.setProperty(
          "DJL_CACHE_DIR", Path.of(System.getProperty("java.io.tmpdir"), "djl").toString());
    }
  }

  private static float[][] embedBatch(Loaded m, EncoderModel spec, List<String> texts) {
    int n = texts.size();
    long[][] ids = new long[n][];
    int width = 0;
    for (int i = 0; i < n; i++) {
      Encoding e = m.tokenizer().encode(texts.get(i), true, false);
      ids[i] = e.getIds();
      width = Math.max(width, ids[i].length);
    }
    long[] inputIds = new long[n * width];
    long[] mask = new long[n * width];
    for (int i = 0; i < n; i++) {
      System.arraycopy(ids[i], 0, inputIds, i * width, ids[i].length);
      Arrays.fill(mask, i * width, i * width + ids[i].length, 1L);
    }
    long[] shape = {n, width};
    Map<String, OnnxTensor> inputs = new HashMap<>();
    try {
      inputs.put("input_ids", OnnxTensor.createTensor(m.env(), LongBuffer.wrap(inputIds), shape));
      inputs.put("attention_mask", OnnxTensor.createTensor(m.env(), LongBuffer.wrap(mask), shape));
      if (m.typeIds()) {
        inputs.put(
            "token_type_ids",
            OnnxTensor.createTensor(m.env(), LongBuffer.wrap(new long[n * width]), shape));
      }
      try (OrtSession.Result result = m.session().run(inputs)) {
        float[][][] hidden = (float[][][]) result.get(0).getValue();
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) {
          out[i] =
              spec.clsPooling()
                  ? normalised(hidden[i][0].clone())
                  : meanPoolNormalised(hidden[i], ids[i].length);
        }
        return out;
      }
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime failed to embed a batch: " + e.getMessage(), e);
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }

  private static float[] meanPoolNormalised(float[][] tokens, int length) {
    float[] v = new float[tokens[0].length];
    for (int t = 0; t < length; t++) {
      for (int d = 0; d < v.length; d++) {
        v[d] += tokens[t][d];
      }
    }
    return normalised(v);
  }

  private static float[] normalised(float[] v) {
    double norm = 0;
    for (float x : v) {
      norm += (double) x * x;
    }
    float scale = norm == 0 ? 0 : (float) (1 / Math.sqrt(norm));
    for (int d = 0; d < v.length; d++) {
      v[d] *= scale;
    }
    return v;
  }

  /** Releases the ONNX session and the tokenizer; later {@link #embed} calls fail. */
  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      if (cache != null) {
        cache.clear();
      }
      Loaded m = loaded;
      loaded = null;
      if (m != null) {
        m.tokenizer().close();
        try {
          m.session().close();
        } catch (OrtException e) {
          // Closing cannot be retried and leaks at most native memory until exit.
        }
      }
    }
  }

  /**
   * The exact vectors of the texts embedded last, least recently used out first; its own lock, held
   * for a map operation only (never during a model run).
   */
  private static final class VectorCache {
    private final int capacity;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final Map<String, float[]> vectors;

    VectorCache(int capacity) {
      this.capacity = capacity;
      this.vectors =
          new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, float[]> eldest) {
              return size() > VectorCache.this.capacity;
            }
          };
    }

    synchronized float[] get(String text) {
      float[] v = vectors.get(text);
      (v != null ? hits : misses).increment();
      return v;
    }

    synchronized void put(String text, float[] v) {
      vectors.put(text, v);
    }

    synchronized int size() {
      return vectors.size();
    }

    synchronized void clear() {
      vectors.clear();
    }
  }
}
