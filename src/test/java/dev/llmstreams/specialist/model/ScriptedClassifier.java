package dev.llmstreams.specialist.model;

import dev.llmstreams.events.ScoredLabel;
import java.util.List;
import java.util.Map;

/** A model for tests that answers what a table says: "text" -> label and confidence. */
public record ScriptedClassifier(String version, Map<String, Prediction> answers)
    implements TextClassifier {

  public ScriptedClassifier(Map<String, Prediction> answers) {
    this("1", answers);
  }

  /** A one-stage prediction of {@code label} at {@code confidence}. */
  public static Prediction says(String label, double confidence) {
    return new Prediction(label, confidence, List.of(new ScoredLabel(label, confidence)));
  }

  @Override
  public String name() {
    return "scripted";
  }

  @Override
  public List<String> labels() {
    return List.of("a", "b", "c");
  }

  @Override
  public double recommendedThreshold() {
    return 0.5;
  }

  @Override
  public Prediction predict(String text) {
    return answers.get(text);
  }

  @Override
  public List<LabeledText> nearestExamples(String text, int k) {
    return List.of();
  }
}
