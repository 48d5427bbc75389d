package dev.llmstreams.specialist;

import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.specialist.model.TextClassifier;

/**
 * Turns a record of {@code specialist-models} into a model that predicts. Called once per new
 * version (on the global thread), never per event.
 */
@FunctionalInterface
public interface ModelLoader {
  /**
   * The model the record holds.
   *
   * @throws IllegalArgumentException with the reason, for a record that cannot be served (unknown
   *     format, artifact digest mismatch, corrupt bytes); the model in service then stays
   */
  TextClassifier load(SpecialistModel record);

  /**
   * A loader that knows no format: a build with no model implementation serves nothing and says
   * why.
   */
  static ModelLoader none() {
    return record -> {
      throw new IllegalArgumentException(
          "this build has no model loader (format " + record.format() + ")");
    };
  }
}
