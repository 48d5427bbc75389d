package dev.llmstreams.specialist.model;

import dev.llmstreams.events.SpecialistModel;

/**
 * What {@link ModelTrainer#train} returns.
 *
 * @param classifier the model, as loaded from the record (so it predicts exactly what a consumer of
 *     the record will)
 * @param record the model as published on {@code specialist-models}
 * @param dev the evaluation on the held-out dev split that chose the temperatures and the threshold
 */
public record TrainedModel(
    TextClassifier classifier, SpecialistModel record, EvaluationReport dev) {}
