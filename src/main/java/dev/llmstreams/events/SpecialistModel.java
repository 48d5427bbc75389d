package dev.llmstreams.events;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.List;

/**
 * A trained specialist model (topic role SPECIALIST_MODELS, compacted, keyed by model name): the
 * latest record per name is the model in service; instances hot-swap to it.
 *
 * @param version unique per name, e.g. {@code 2025-11-28T03-39-00Z-a1b2c3d}
 * @param labels the labels the model predicts
 * @param trainingDataDigest sha-256 hex of the training data, to tell which data built the model
 * @param metrics held-out evaluation (accuracy, macro F1, calibration); optional
 * @param config the hyper-parameters; optional
 * @param format how artifact is encoded, e.g. {@code logreg-tfidf-v1}; the loader refuses formats
 *     it does not know
 * @param artifact the model bytes, base64 (the record stays under the topic's 8 MiB
 *     max.message.bytes)
 * @param artifactSha256 sha-256 hex of the decoded artifact bytes; the loader checks it
 */
public record SpecialistModel(
    String name,
    String version,
    Instant createdAt,
    List<String> labels,
    String trainingDataDigest,
    JsonNode metrics,
    JsonNode config,
    String format,
    String artifact,
    String artifactSha256) {

  public SpecialistModel {
    Require.text(name, "name");
    Require.text(version, "version");
    Require.present(createdAt, "createdAt");
    labels = Require.nonEmptyList(labels, "labels");
    Require.sha256Hex(trainingDataDigest, "trainingDataDigest");
    Require.text(format, "format");
    Require.text(artifact, "artifact");
    Require.sha256Hex(artifactSha256, "artifactSha256");
  }
}
