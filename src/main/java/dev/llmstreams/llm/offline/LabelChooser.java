package dev.llmstreams.llm.offline;

import dev.llmstreams.runtime.text.SentenceEncoder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Chooses the label nearest to a text: each label is represented by its name, its description and
 * its examples (when the prompt gives them), the text is compared with each, and a label scores its
 * best match. Confidence is the softmax of the scores at temperature {@value #TEMPERATURE}.
 */
final class LabelChooser {
  static final double TEMPERATURE = 0.05;
  private static final Pattern EXAMPLE =
      Pattern.compile(
          "^\\s*[-*]?\\s*example\\s*\\(([^)]+)\\)\\s*:\\s*(.+)$", Pattern.CASE_INSENSITIVE);
  private static final Pattern DEFINITION =
      Pattern.compile("^\\s*[-*]?\\s*([^:]{1,80}?)\\s*:\\s*(.+)$");

  record Choice(String label, double confidence, Map<String, Double> probabilities) {}

  /** What a prompt says about the labels: descriptions and examples, keyed by label. */
  record Hints(Map<String, List<String>> descriptions, Map<String, List<String>> examples) {
    /**
     * True when the line is a label definition or example (so it is not part of the text to
     * classify).
     */
    boolean defines(String line, List<String> labels) {
      return parse(line, labels) != null;
    }
  }

  private final SentenceEncoder encoder;

  LabelChooser(SentenceEncoder encoder) {
    this.encoder = encoder;
  }

  /**
   * Reads {@code label: description} and {@code example (label): text} lines; other lines are
   * ignored.
   */
  static Hints hints(List<String> texts, List<String> labels) {
    Map<String, List<String>> descriptions = new LinkedHashMap<>();
    Map<String, List<String>> examples = new LinkedHashMap<>();
    for (String text : texts) {
      for (String line : text.split("\\R")) {
        String[] p = parse(line, labels);
        if (p != null) {
          (p[0].equals("example") ? examples : descriptions)
              .computeIfAbsent(p[1], k -> new ArrayList<>())
              .add(p[2]);
        }
      }
    }
    return new Hints(descriptions, examples);
  }

  /** {kind, label, text} of a definition line for one of {@code labels}, or null. */
  private static String[] parse(String line, List<String> labels) {
    Matcher e = EXAMPLE.matcher(line);
    if (e.matches()) {
      String label = find(e.group(1), labels);
      return label == null ? null : new String[] {"example", label, e.group(2).strip()};
    }
    Matcher d = DEFINITION.matcher(line);
    if (d.matches()) {
      String label = find(d.group(1).replaceAll("^[`\"']|[`\"']$", ""), labels);
      return label == null ? null : new String[] {"description", label, d.group(2).strip()};
    }
    return null;
  }

  private static String find(String name, List<String> labels) {
    for (String l : labels) {
      if (l.equalsIgnoreCase(name.strip())) {
        return l;
      }
    }
    return null;
  }

  /** A label's name as words: {@code card_arrival} reads as "card arrival". */
  static String words(String label) {
    return label
        .replaceAll("[_\\-.]+", " ")
        .replaceAll("([a-z])([A-Z])", "$1 $2")
        .toLowerCase(Locale.ROOT)
        .strip();
  }

  Choice choose(String text, List<String> labels, Hints hints) {
    List<String> prototypes = new ArrayList<>();
    List<Integer> owner = new ArrayList<>();
    for (int l = 0; l < labels.size(); l++) {
      String label = labels.get(l);
      String name = words(label);
      prototypes.add(name);
      owner.add(l);
      for (String d : hints.descriptions().getOrDefault(label, List.of())) {
        prototypes.add(name + ": " + d);
        owner.add(l);
      }
      for (String x : hints.examples().getOrDefault(label, List.of())) {
        prototypes.add(x);
        owner.add(l);
      }
    }
    List<String> batch = new ArrayList<>(prototypes);
    batch.add(text);
    float[][] v = encoder.embed(batch);
    float[] t = v[v.length - 1];
    double[] score = new double[labels.size()];
    java.util.Arrays.fill(score, Double.NEGATIVE_INFINITY);
    for (int i = 0; i < prototypes.size(); i++) {
      score[owner.get(i)] = Math.max(score[owner.get(i)], SentenceEncoder.cosine(v[i], t));
    }
    int best = 0;
    for (int l = 1; l < score.length; l++) {
      if (score[l] > score[best]) { // strict: ties go to the label listed first
        best = l;
      }
    }
    double sum = 0;
    double[] p = new double[score.length];
    for (int l = 0; l < score.length; l++) {
      p[l] = Math.exp((score[l] - score[best]) / TEMPERATURE);
      sum += p[l];
    }
    Map<String, Double> probabilities = new LinkedHashMap<>();
    for (int l = 0; l < score.length; l++) {
      probabilities.put(labels.get(l), p[l] / sum);
    }
    return new Choice(labels.get(best), p[best] / sum, probabilities);
  }
}
