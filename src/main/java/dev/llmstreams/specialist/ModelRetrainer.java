package dev.llmstreams.specialist;

import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.TextClassifier;
import java.util.List;

/**
 * Trains a candidate model from labelled examples. The trainer calls it on a background thread,
 * never on a stream thread, with the training part of every example accumulated so far (the
 * held-out part stays with the trainer, which compares the candidate with the model in service on
 * it and publishes the candidate only if it is better).
 */
@FunctionalInterface
public interface ModelRetrainer {
  /** A trained model, loaded, and the record that would publish it on {@code specialist-models}. */
  record Candidate(TextClassifier model, SpecialistModel record) {}

  /**
   * @param training the examples to train on, in a fixed order
   * @param current the record of the model in service, or null when there is none (e.g. to reuse
   *     its settings)
   * @throws RuntimeException when it cannot train (counted as a failed retraining; the model in
   *     service stays)
   */
  Candidate retrain(List<LabeledText> training, SpecialistModel current);

  /** A retrainer for a build with no model implementation: every retraining fails, and says why. */
  static ModelRetrainer none() {
    return (training, current) -> {
      throw new UnsupportedOperationException("this build has no model trainer");
    };
  }
}
