package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonCreator;
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
 * @param digest {@code sha256:} and the hex SHA-256 of the record's canonical form (every field
 *     above, see {@code ModelDigest}); optional for records published before it existed, required
 *     when the specialist verifies signatures. A record whose digest does not match is never served
 * @param signature base64 Ed25519 signature over the name, version, digest and key id (see {@code
 *     ModelTrust}); optional, required when the specialist verifies signatures
 * @param keyId which key signed it: {@code ed25519:} and the first 16 hex digits of the SHA-256 of
 *     the public key (X.509 encoding); optional
 * @param promotion the promotion gate's decision about this model and its scores; optional (absent
 *     on records published before the gate existed). Not covered by the digest. A record under the
 *     key {@code <name>/rejected} ({@link #rejectedKey}) is the last candidate the gate rejected:
 *     kept for people to see and never served
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
    String artifactSha256,
    String digest,
    String signature,
    String keyId,
    ModelPromotion promotion) {

  /** The suffix of the key a rejected candidate is recorded under, after the model's name. */
  public static final String REJECTED_SUFFIX = "/rejected";

  /** A record with no promotion decision. */
  public SpecialistModel(
      String name,
      String version,
      Instant createdAt,
      List<String> labels,
      String trainingDataDigest,
      JsonNode metrics,
      JsonNode config,
      String format,
      String artifact,
      String artifactSha256,
      String digest,
      String signature,
      String keyId) {
    this(
        name,
        version,
        createdAt,
        labels,
        trainingDataDigest,
        metrics,
        config,
        format,
        artifact,
        artifactSha256,
        digest,
        signature,
        keyId,
        null);
  }

  /** A record with no digest and no signature (sealed later, see {@code ModelTrust#seal}). */
  public SpecialistModel(
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
    this(
        name,
        version,
        createdAt,
        labels,
        trainingDataDigest,
        metrics,
        config,
        format,
        artifact,
        artifactSha256,
        null,
        null,
        null);
  }

  // Digest, signature and key id are not checked here: a record with a malformed one is refused
  // (and counted) by the specialist, like one whose digest does not match.
  @JsonCreator
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

  /** The same record with this digest, signature and key id (any may be null). */
  public SpecialistModel sealed(String digest, String signature, String keyId) {
    return with(digest, signature, keyId, promotion);
  }

  /** The same record carrying this promotion decision (the digest and signature stay valid). */
  public SpecialistModel withPromotion(ModelPromotion decision) {
    return with(digest, signature, keyId, decision);
  }

  private SpecialistModel with(
      String digest, String signature, String keyId, ModelPromotion promotion) {
    return new SpecialistModel(
        name,
        version,
        createdAt,
        labels,
        trainingDataDigest,
        metrics,
        config,
        format,
        artifact,
        artifactSha256,
        digest,
        signature,
        keyId,
        promotion);
  }

  /** The key a rejected candidate of model {@code name} is recorded under. */
  public static String rejectedKey(String name) {
    return name + REJECTED_SUFFIX;
  }
}
