package dev.llmstreams.specialist;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.ScoredLabel;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.Prediction;
import dev.llmstreams.specialist.model.TextClassifier;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TEST STAND-IN, not the product's model: a bag-of-words multinomial naive Bayes (word counts per
 * label, add-one smoothing, uniform prior) with its own artifact format {@value #FORMAT}, small and
 * honest enough to drive the specialist topology in tests. Words it never saw for a label cost that
 * label, so a model trained on more examples knows more words and is more confident about texts
 * like them; words common to every label cancel out.
 */
final class TestBayesClassifier implements TextClassifier {
  static final String FORMAT = "test-bayes-v1";
  private static final AtomicInteger LOADS = new AtomicInteger();

  private final String name;
  private final String version;
  private final double threshold;
  private final Map<String, Map<String, Double>> centroids;
  private final List<LabeledText> examples;

  private TestBayesClassifier(
      String name,
      String version,
      double threshold,
      Map<String, Map<String, Double>> centroids,
      List<LabeledText> examples) {
    this.name = name;
    this.version = version;
    this.threshold = threshold;
    this.centroids = centroids;
    this.examples = examples;
  }

  /**
   * Trains on {@code examples}; {@code labels} fixes the label order (labels with no example get an
   * empty centroid).
   */
  static TestBayesClassifier train(
      String name,
      String version,
      double threshold,
      List<String> labels,
      List<LabeledText> examples) {
    Map<String, Map<String, Double>> centroids = new LinkedHashMap<>();
    labels.forEach(l -> centroids.put(l, new TreeMap<>()));
    for (LabeledText e : examples) {
      Map<String, Double> c = centroids.computeIfAbsent(e.label(), l -> new TreeMap<>());
      words(e.text()).forEach((w, x) -> c.merge(w, x, Double::sum));
    }
    Map<String, Integer> kept = new java.util.HashMap<>();
    List<LabeledText> shown =
        examples.stream().filter(e -> kept.merge(e.label(), 1, Integer::sum) <= 5).toList();
    return new TestBayesClassifier(name, version, threshold, centroids, shown);
  }

  /** How many artifacts were decoded, so a test can see a model is not decoded per event. */
  static int loads() {
    return LOADS.get();
  }

  /** The loader for this format: checks the format and the digest, decodes the artifact. */
  static ModelLoader loader() {
    return record -> {
      if (!FORMAT.equals(record.format())) {
        throw new IllegalArgumentException(
            "unknown format " + record.format() + "; this loader reads " + FORMAT);
      }
      byte[] bytes;
      try {
        bytes = Base64.getDecoder().decode(record.artifact());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("the artifact is not base64");
      }
      if (!sha256(bytes).equals(record.artifactSha256())) {
        throw new IllegalArgumentException("artifactSha256 does not match the artifact");
      }
      LOADS.incrementAndGet();
      JsonNode json = Json.tree(new String(bytes, StandardCharsets.UTF_8));
      Map<String, Map<String, Double>> centroids = new LinkedHashMap<>();
      json.path("centroids")
          .properties()
          .iterator()
          .forEachRemaining(
              l -> {
                Map<String, Double> c = new TreeMap<>();
                l.getValue()
                    .properties()
                    .iterator()
                    .forEachRemaining(w -> c.put(w.getKey(), w.getValue().asDouble()));
                centroids.put(l.getKey(), c);
              });
      List<LabeledText> examples = new ArrayList<>();
      json.path("examples")
          .forEach(
              e ->
                  examples.add(new LabeledText(e.path("text").asText(), e.path("label").asText())));
      return new TestBayesClassifier(
          json.path("name").asText(),
          json.path("version").asText(),
          json.path("threshold").asDouble(),
          centroids,
          examples);
    };
  }

  /**
   * A retrainer that trains this classifier on the examples it is given, over the labels of the
   * model in service.
   */
  static ModelRetrainer retrainer(List<String> labels, double threshold) {
    AtomicInteger runs = new AtomicInteger();
    return (training, current) -> {
      String name = current == null ? "banking77" : current.name();
      return candidate(
          train(
              name,
              "retrained-" + runs.incrementAndGet() + "-" + training.size(),
              threshold,
              labels,
              training));
    };
  }

  static ModelRetrainer.Candidate candidate(TestBayesClassifier model) {
    return new ModelRetrainer.Candidate(model, model.record());
  }

  /** The record that publishes this model on specialist-models. */
  SpecialistModel record() {
    return record(0);
  }

  /**
   * The same with {@code paddingBytes} of filler in the artifact, the size of a real model's
   * weights.
   */
  SpecialistModel record(int paddingBytes) {
    ObjectNode json =
        JsonNodeFactory.instance
            .objectNode()
            .put("name", name)
            .put("version", version)
            .put("threshold", threshold)
            .put("padding", "w".repeat(paddingBytes));
    ObjectNode c = json.putObject("centroids");
    centroids.forEach(
        (l, words) -> {
          ObjectNode w = c.putObject(l);
          words.forEach(w::put);
        });
    var ex = json.putArray("examples");
    examples.forEach(e -> ex.addObject().put("text", e.text()).put("label", e.label()));
    byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
    return new SpecialistModel(
        name,
        version,
        Instant.parse("2026-11-28T08:00:00Z"),
        labels(),
        sha256(String.valueOf(examples).getBytes(StandardCharsets.UTF_8)),
        null,
        null,
        FORMAT,
        Base64.getEncoder().encodeToString(bytes),
        sha256(bytes));
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String version() {
    return version;
  }

  @Override
  public List<String> labels() {
    return List.copyOf(centroids.keySet());
  }

  @Override
  public double recommendedThreshold() {
    return threshold;
  }

  @Override
  public Prediction predict(String text) {
    Map<String, Double> v = words(text);
    java.util.Set<String> vocabulary = new java.util.HashSet<>();
    centroids.values().forEach(c -> vocabulary.addAll(c.keySet()));
    List<String> labels = labels();
    double[] score = new double[labels.size()];
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < score.length; i++) {
      Map<String, Double> counts = centroids.get(labels.get(i));
      double total =
          counts.values().stream().mapToDouble(Double::doubleValue).sum() + vocabulary.size() + 1;
      for (Map.Entry<String, Double> w : v.entrySet()) {
        score[i] += w.getValue() * Math.log((counts.getOrDefault(w.getKey(), 0.0) + 1) / total);
      }
      max = Math.max(max, score[i]);
    }
    double sum = 0;
    for (int i = 0; i < score.length; i++) {
      score[i] = Math.exp(score[i] - max);
      sum += score[i];
    }
    List<ScoredLabel> all = new ArrayList<>();
    for (int i = 0; i < score.length; i++) {
      all.add(new ScoredLabel(labels.get(i), score[i] / sum));
    }
    all.sort(Comparator.comparingDouble(ScoredLabel::confidence).reversed());
    List<ScoredLabel> top = all.subList(0, Math.min(3, all.size()));
    return new Prediction(top.get(0).label(), top.get(0).confidence(), top);
  }

  @Override
  public List<LabeledText> nearestExamples(String text, int k) {
    Map<String, Double> v = unit(words(text));
    return examples.stream()
        .sorted(Comparator.comparingDouble((LabeledText e) -> -cosine(v, unit(words(e.text())))))
        .limit(k)
        .toList();
  }

  private static Map<String, Double> words(String text) {
    Map<String, Double> counts = new TreeMap<>();
    for (String w : text.toLowerCase(Locale.ROOT).split("[^a-z0-9]+")) {
      if (!w.isEmpty()) {
        counts.merge(w, 1.0, Double::sum);
      }
    }
    return counts;
  }

  private static Map<String, Double> unit(Map<String, Double> v) {
    double norm = Math.sqrt(v.values().stream().mapToDouble(x -> x * x).sum());
    Map<String, Double> out = new TreeMap<>();
    v.forEach((w, x) -> out.put(w, norm == 0 ? 0 : x / norm));
    return out;
  }

  private static double cosine(Map<String, Double> unitVector, Map<String, Double> centroid) {
    double dot = 0;
    double norm = 0;
    for (double x : centroid.values()) {
      norm += x * x;
    }
    if (norm == 0) {
      return 0;
    }
    for (Map.Entry<String, Double> e : unitVector.entrySet()) {
      dot += e.getValue() * centroid.getOrDefault(e.getKey(), 0.0);
    }
    return dot / Math.sqrt(norm);
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
