package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.SpecialistModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelTrustTest {
  /** A throwaway pair from {@code openssl genpkey -algorithm ed25519} (test only). */
  private static final String OPENSSL_PRIVATE =
      "-----BEGIN PRIVATE KEY-----\n"
          + "MC4CAQAwBQYDK2VwBCIEIFtfc/oudg4fD5Z1r/ML+YJkeGjrLoTRSuGAUdPWJWYU\n"
          + "-----END PRIVATE KEY-----\n";

  private static final String OPENSSL_PUBLIC =
      "-----BEGIN PUBLIC KEY-----\n"
          + "MCowBQYDK2VwAyEA0llNIsmKj57VzqfTJEJ0oXqciusbct84RRyjmTA3vVs=\n"
          + "-----END PUBLIC KEY-----\n";

  /** {@code openssl pkey -in key.pem -pubout -outform DER | sha256sum | cut -c1-16}. */
  private static final String OPENSSL_KEY_ID = "ed25519:714cccbd16fda7de";

  @TempDir Path dir;

  private static final KeyPair TRAINER = pair();
  private static final KeyPair OTHER = pair();

  private static KeyPair pair() {
    try {
      return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static final ModelTrust SIGNER = ModelTrust.of(TRAINER.getPrivate(), List.of());
  private static final ModelTrust VERIFIER = ModelTrust.of(null, List.of(TRAINER.getPublic()));

  private static SpecialistModel record(String version) {
    byte[] artifact = ("weights of " + version).getBytes(StandardCharsets.UTF_8);
    return new SpecialistModel(
        "banking77",
        version,
        Instant.parse("2026-11-28T08:00:00Z"),
        List.of("card_arrival", "lost_or_stolen_card"),
        "a".repeat(64),
        Json.tree("{\"accuracy\":0.9,\"macroF1\":0.875,\"n\":120}"),
        Json.tree("{\"kind\":\"hashed\",\"seed\":77,\"hashed\":{\"epochs\":3,\"rate\":0.5}}"),
        "llsp-hashed-v1",
        Base64.getEncoder().encodeToString(artifact),
        sha256Hex(artifact));
  }

  private static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static SpecialistModel copy(
      SpecialistModel r, java.util.function.Consumer<ObjectNode> edit) {
    ObjectNode json = (ObjectNode) Json.toTree(r);
    edit.accept(json);
    try {
      return Json.readerFor(SpecialistModel.class).readValue(json.toString());
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Optional<String> reason(ModelTrust trust, SpecialistModel r) {
    return trust.check(r).map(ModelTrust.Refusal::reason);
  }

  // ---- digest

  @Test
  void shouldDigestTheValuesNotTheJsonSpelling() throws Exception {
    SpecialistModel r = ModelDigest.digested(record("v1"));
    assertThat(r.digest()).matches("sha256:[0-9a-f]{64}");

    // Reordered fields and members, other whitespace, 0.90 for 0.9, 120.0 for 120, an escaped
    // letter, base64 without padding.
    ObjectNode json = (ObjectNode) Json.toTree(r);
    List<String> names = new ArrayList<>();
    json.fieldNames().forEachRemaining(names::add);
    Collections.reverse(names);
    StringBuilder text = new StringBuilder("{\n");
    for (String name : names) {
      String value = json.get(name).toString();
      if (name.equals("metrics")) {
        value = "{ \"n\" : 120.0, \"macroF1\": 0.8750, \"accuracy\": 0.90 }";
      } else if (name.equals("format")) {
        value = "\"llsp-h\\u0061shed-v1\"";
      } else if (name.equals("artifact")) {
        value = "\"" + json.get(name).asText().replace("=", "") + "\"";
      }
      text.append("  \"").append(name).append("\" : ").append(value).append(",\n");
    }
    text.setLength(text.length() - 2);
    text.append("\n}");
    SpecialistModel respelled = Json.readerFor(SpecialistModel.class).readValue(text.toString());

    assertThat(respelled.artifact()).isNotEqualTo(r.artifact());
    assertThat(ModelDigest.of(respelled)).isEqualTo(r.digest());
    assertThat(ModelTrust.off().check(respelled)).isEmpty();
  }

  @Test
  void shouldChangeTheDigestWithAnyValue() {
    String digest = ModelDigest.of(record("v1"));
    assertThat(ModelDigest.of(record("v2"))).isNotEqualTo(digest);
    assertThat(ModelDigest.of(copy(record("v1"), j -> j.put("format", "other"))))
        .isNotEqualTo(digest);
    assertThat(
            ModelDigest.of(copy(record("v1"), j -> ((ObjectNode) j.get("config")).put("seed", 78))))
        .isNotEqualTo(digest);
    assertThat(ModelDigest.of(copy(record("v1"), j -> j.remove("metrics")))).isNotEqualTo(digest);
    assertThat(
            ModelDigest.of(copy(record("v1"), j -> j.put("createdAt", "2026-11-28T08:00:00.001Z"))))
        .isNotEqualTo(digest);
  }

  // ---- signing on

  @Test
  void shouldServeAModelSignedByAVerifyKeyEvenAfterAJsonRoundTrip() throws Exception {
    SpecialistModel sealed = SIGNER.seal(record("v1"));
    assertThat(sealed.keyId()).isEqualTo(ModelTrust.keyId(TRAINER.getPublic()));
    assertThat(sealed.signature()).hasSize(88);
    SpecialistModel read =
        Json.readerFor(SpecialistModel.class).readValue(Json.writer().writeValueAsString(sealed));

    assertThat(read).isEqualTo(sealed);
    assertThat(VERIFIER.check(read)).isEmpty();
    assertThat(ModelTrust.off().check(read)).isEmpty();
  }

  @Test
  void shouldRefuseATamperedArtifactByte() {
    SpecialistModel sealed = SIGNER.seal(record("v1"));
    byte[] artifact = Base64.getDecoder().decode(sealed.artifact());
    artifact[3] ^= 1;
    SpecialistModel tampered =
        copy(sealed, j -> j.put("artifact", Base64.getEncoder().encodeToString(artifact)));

    assertThat(reason(VERIFIER, tampered)).contains(ModelTrust.DIGEST_MISMATCH);
    assertThat(reason(ModelTrust.off(), tampered)).contains(ModelTrust.DIGEST_MISMATCH);
  }

  @Test
  void shouldRefuseTamperedMetadata() {
    SpecialistModel sealed = SIGNER.seal(record("v1"));
    assertThat(reason(VERIFIER, copy(sealed, j -> j.put("version", "v9"))))
        .contains(ModelTrust.DIGEST_MISMATCH);
    assertThat(
            reason(
                VERIFIER,
                copy(sealed, j -> ((ObjectNode) j.get("config")).put("kind", "embedding"))))
        .contains(ModelTrust.DIGEST_MISMATCH);
    assertThat(reason(VERIFIER, copy(sealed, j -> j.putArray("labels").add("card_arrival"))))
        .contains(ModelTrust.DIGEST_MISMATCH);
  }

  @Test
  void shouldRefuseASignatureMovedOntoAnotherVersionWithARecomputedDigest() {
    SpecialistModel v1 = SIGNER.seal(record("v1"));
    // Whoever can write the topic can recompute a digest, not a signature.
    SpecialistModel v2 =
        ModelDigest.digested(record("v2"))
            .sealed(ModelDigest.of(record("v2")), v1.signature(), v1.keyId());

    assertThat(ModelTrust.off().check(v2)).isEmpty();
    assertThat(reason(VERIFIER, v2)).contains(ModelTrust.BAD_SIGNATURE);
  }

  @Test
  void shouldRefuseAModelSignedWithAnotherKey() {
    ModelTrust forger = ModelTrust.of(OTHER.getPrivate(), List.of());
    SpecialistModel forged = forger.seal(record("v1"));
    assertThat(reason(VERIFIER, forged)).contains(ModelTrust.UNKNOWN_KEY);
    assertThat(VERIFIER.check(forged).orElseThrow().detail())
        .contains(forged.keyId())
        .contains(ModelTrust.keyId(TRAINER.getPublic()));

    SpecialistModel claimingTheTrainersKey =
        forged.sealed(forged.digest(), forged.signature(), SIGNER.signingKeyId());
    assertThat(reason(VERIFIER, claimingTheTrainersKey)).contains(ModelTrust.BAD_SIGNATURE);
    SpecialistModel noKeyId = forged.sealed(forged.digest(), forged.signature(), null);
    assertThat(reason(VERIFIER, noKeyId)).contains(ModelTrust.BAD_SIGNATURE);
  }

  @Test
  void shouldRefuseAnUnsignedModelWhenSignaturesAreRequired() {
    assertThat(reason(VERIFIER, ModelDigest.digested(record("v1")))).contains(ModelTrust.UNSIGNED);
    assertThat(reason(VERIFIER, record("v1"))).as("no digest either").contains(ModelTrust.UNSIGNED);
  }

  @Test
  void shouldRefuseAMalformedDigestOrSignature() {
    SpecialistModel sealed = SIGNER.seal(record("v1"));
    assertThat(reason(ModelTrust.off(), sealed.sealed("md5:abc", null, null)))
        .contains(ModelTrust.MALFORMED);
    assertThat(reason(VERIFIER, sealed.sealed(sealed.digest(), "not base64!", sealed.keyId())))
        .contains(ModelTrust.MALFORMED);
    assertThat(reason(VERIFIER, sealed.sealed(sealed.digest(), "AAAA", sealed.keyId())))
        .contains(ModelTrust.MALFORMED);
  }

  @Test
  void shouldAcceptASignatureByAnyOfSeveralVerifyKeysForARotation() {
    ModelTrust both = ModelTrust.of(null, List.of(OTHER.getPublic(), TRAINER.getPublic()));
    assertThat(both.check(SIGNER.seal(record("v1")))).isEmpty();
    assertThat(both.check(ModelTrust.of(OTHER.getPrivate(), List.of()).seal(record("v1"))))
        .isEmpty();
  }

  // ---- signing off

  @Test
  void shouldRefuseADigestMismatchEvenWithSigningOff() {
    SpecialistModel digested = ModelDigest.digested(record("v1"));
    assertThat(
            reason(
                ModelTrust.off(), copy(digested, j -> j.put("trainingDataDigest", "b".repeat(64)))))
        .contains(ModelTrust.DIGEST_MISMATCH);
  }

  @Test
  void shouldServeUnsignedModelsWithSigningOff() {
    assertThat(ModelTrust.off().check(ModelDigest.digested(record("v1")))).isEmpty();
    assertThat(ModelTrust.off().check(record("v1"))).as("a record from before digests").isEmpty();
  }

  // ---- keys and config

  @Test
  void shouldReadOpensslKeysAndNameThemAsOpensslHashesThem() {
    var privateKey = ModelTrust.privateKey(OPENSSL_PRIVATE);
    var publicKeys = ModelTrust.publicKeys(OPENSSL_PUBLIC);

    assertThat(ModelTrust.keyId(publicKeys.get(0))).isEqualTo(OPENSSL_KEY_ID);
    assertThat(ModelTrust.keyId(ModelTrust.publicKeyOf(privateKey))).isEqualTo(OPENSSL_KEY_ID);
    ModelTrust trust = ModelTrust.of(privateKey, publicKeys);
    assertThat(trust.check(trust.seal(record("v1")))).isEmpty();
  }

  @Test
  void shouldReadKeysFromConfigFilesOrTheSecretAndRefuseAMismatchedPair() throws Exception {
    Path signing = Files.writeString(dir.resolve("signing.pem"), OPENSSL_PRIVATE);
    Path verify = Files.writeString(dir.resolve("verify.pem"), OPENSSL_PUBLIC);
    ModelTrust trust =
        ModelTrust.from(
            AppConfig.of(
                Map.of(
                    AppConfig.SPECIALIST_MODELS_SIGNING_KEY_FILE, signing.toString(),
                    AppConfig.SPECIALIST_MODELS_VERIFY_KEY_FILE, verify.toString())));
    assertThat(trust.signs()).isTrue();
    assertThat(trust.verifies()).isTrue();
    assertThat(trust.verifyKeyIds()).containsExactly(OPENSSL_KEY_ID);

    ModelTrust fromSecret =
        ModelTrust.from(
            AppConfig.of(Map.of(AppConfig.SPECIALIST_MODELS_SIGNING_KEY, OPENSSL_PRIVATE)));
    assertThat(fromSecret.signingKeyId()).isEqualTo(OPENSSL_KEY_ID);
    assertThat(fromSecret.verifies()).isFalse();

    Path otherPublic =
        Files.writeString(
            dir.resolve("other.pem"),
            "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getEncoder().encodeToString(OTHER.getPublic().getEncoded())
                + "\n-----END PUBLIC KEY-----\n");
    assertThatThrownBy(
            () ->
                ModelTrust.from(
                    AppConfig.of(
                        Map.of(
                            AppConfig.SPECIALIST_MODELS_SIGNING_KEY,
                            OPENSSL_PRIVATE,
                            AppConfig.SPECIALIST_MODELS_VERIFY_KEY_FILE,
                            otherPublic.toString()))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("would refuse the models it publishes")
        .hasMessageNotContaining("MC4CAQAw");
  }

  @Test
  void shouldNameTheKeyButNeverItsMaterialWhenAKeyCannotBeRead() throws Exception {
    assertThatThrownBy(
            () ->
                ModelTrust.from(
                    AppConfig.of(Map.of(AppConfig.SPECIALIST_MODELS_SIGNING_KEY, OPENSSL_PUBLIC))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(AppConfig.SPECIALIST_MODELS_SIGNING_KEY)
        .hasMessageNotContaining("MCowBQYDK2VwAyEA");
    Path missing = dir.resolve("missing.pem");
    assertThatThrownBy(
            () ->
                ModelTrust.from(
                    AppConfig.of(
                        Map.of(AppConfig.SPECIALIST_MODELS_VERIFY_KEY_FILE, missing.toString()))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cannot be read");
    Path notAKey = Files.writeString(dir.resolve("junk.pem"), "hello");
    assertThatThrownBy(
            () ->
                ModelTrust.from(
                    AppConfig.of(
                        Map.of(AppConfig.SPECIALIST_MODELS_VERIFY_KEY_FILE, notAKey.toString()))))
        .isInstanceOf(ConfigException.class);
    assertThat(ModelTrust.from(AppConfig.of(Map.of())).verifies()).isFalse();
  }

  @Test
  void shouldDigestEveryRecordTheTrainerEncodes() {
    JsonNode metrics = Json.tree("{\"accuracy\":1}");
    SpecialistModel r = SpecialistModels.withMetrics(SIGNER.seal(record("v1")), metrics);
    assertThat(r.signature()).as("a change drops the signature").isNull();
    assertThat(ModelTrust.off().check(r)).isEmpty();
    assertThat(r.digest()).isEqualTo(ModelDigest.of(r));
  }
}
