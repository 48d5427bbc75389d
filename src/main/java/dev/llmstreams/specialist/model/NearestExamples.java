package dev.llmstreams.specialist.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * A few typical training examples per label, searched by cosine similarity in a model's own feature
 * space.
 */
final class NearestExamples {
  /** Examples kept per label. */
  static final int PER_LABEL = 5;

  /**
   * Longer example texts are cut: they are shown to an LLM as illustrations, and travel in the
   * artifact.
   */
  static final int MAX_TEXT_CHARS = 500;

  private final List<LabeledText> examples;
  private final Function<String, SparseVector> space;
  private final List<SparseVector> vectors;

  NearestExamples(
      List<LabeledText> examples,
      Function<String, SparseVector> space,
      List<SparseVector> vectors) {
    this.examples = List.copyOf(examples);
    this.space = space;
    this.vectors = vectors.stream().map(NearestExamples::unit).toList();
  }

  /**
   * Examples that are only carried into an artifact (a model being built); searching them is a bug.
   */
  static NearestExamples unsearchable(List<LabeledText> examples) {
    return new NearestExamples(
        examples,
        text -> {
          throw new IllegalStateException(
              "examples of a model under construction are not searchable");
        },
        List.of());
  }

  List<LabeledText> examples() {
    return examples;
  }

  List<LabeledText> nearest(String text, int k) {
    if (k <= 0 || examples.isEmpty()) {
      return List.of();
    }
    SparseVector q = unit(space.apply(text));
    double[] similarity = vectors.stream().mapToDouble(q::dot).toArray();
    return IntStream.range(0, examples.size())
        .boxed()
        .sorted(Comparator.comparingDouble((Integer i) -> -similarity[i]).thenComparingInt(i -> i))
        .limit(k)
        .map(examples::get)
        .toList();
  }

  /**
   * Per label, the {@link #PER_LABEL} examples closest to the label's centroid (the most typical
   * ones), in the order of {@code labels}.
   */
  static List<LabeledText> typical(
      List<LabeledText> data, List<SparseVector> vectors, List<String> labels, int dimensions) {
    List<LabeledText> out = new ArrayList<>();
    double[] centroid = new double[dimensions];
    for (String label : labels) {
      List<Integer> members =
          IntStream.range(0, data.size())
              .filter(i -> data.get(i).label().equals(label))
              .boxed()
              .toList();
      java.util.Arrays.fill(centroid, 0);
      for (int i : members) {
        SparseVector v = unit(vectors.get(i));
        for (int f = 0; f < v.indices().length; f++) {
          centroid[v.indices()[f]] += v.values()[f];
        }
      }
      members.stream()
          .sorted(
              Comparator.comparingDouble((Integer i) -> -dot(centroid, unit(vectors.get(i))))
                  .thenComparingInt(i -> i))
          .map(data::get)
          .distinct()
          .limit(PER_LABEL)
          .forEach(e -> out.add(new LabeledText(cut(e.text()), e.label())));
    }
    return out;
  }

  private static String cut(String text) {
    return text.length() <= MAX_TEXT_CHARS ? text : text.substring(0, MAX_TEXT_CHARS);
  }

  private static double dot(double[] dense, SparseVector v) {
    double s = 0;
    for (int f = 0; f < v.indices().length; f++) {
      s += dense[v.indices()[f]] * v.values()[f];
    }
    return s;
  }

  private static SparseVector unit(SparseVector v) {
    double norm = v.norm();
    if (norm == 0) {
      return v;
    }
    float[] values = v.values().clone();
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (values[i] / norm);
    }
    return new SparseVector(v.indices(), values);
  }
}
