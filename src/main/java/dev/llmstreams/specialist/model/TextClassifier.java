package dev.llmstreams.specialist.model;

import java.util.ArrayList;
import java.util.List;

/**
 * A loaded specialist model: immutable and thread-safe, so a stream thread may call it while
 * another instance is being loaded for a hot swap.
 */
public interface TextClassifier {
  /** The model's name (the key on {@code specialist-models}), e.g. {@code banking77}. */
  String name();

  /** Unique per name; the version a classification reports. */
  String version();

  /** The labels the model predicts, in a fixed order. */
  List<String> labels();

  /**
   * The confidence below which an event should be escalated, chosen at training time on held-out
   * data for a target accuracy of the events kept; the operator's {@code specialist.threshold}
   * overrides it when set.
   */
  double recommendedThreshold();

  /** The best labels for one text (never null; an empty text still gets a prediction). */
  Prediction predict(String text);

  /** Predictions for many texts (implementations may batch, e.g. the sentence encoder). */
  default List<Prediction> predictAll(List<String> texts) {
    List<Prediction> out = new ArrayList<>(texts.size());
    for (String t : texts) {
      out.add(predict(t));
    }
    return out;
  }

  /**
   * Up to {@code k} training examples nearest to the text (the model keeps a few per label), to
   * show an LLM what each label means when an event is escalated.
   */
  List<LabeledText> nearestExamples(String text, int k);
}
