package dev.llmstreams.specialist.model;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.SpecialistModel;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.EdECPrivateKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * Which specialist models may be served, and how this process seals the ones it publishes.
 *
 * <ul>
 *   <li>Always: a record that carries a {@link ModelDigest digest} must match it; one that does not
 *       is corrupt or tampered, and is refused.
 *   <li>With verify keys ({@code specialist.models.verify.key.file}, Ed25519 public keys): a record
 *       is served only when it carries a digest and an Ed25519 signature, by one of those keys,
 *       over its {@link #signingInput name, version, digest and key id}; a signature cannot be
 *       moved onto another record or another version's metadata.
 *   <li>With a signing key ({@code specialist.models.signing.key} or {@code
 *       specialist.models.signing.key.file}, an Ed25519 private key): the records this process
 *       publishes ({@code train --publish}, the in-app trainer) are signed.
 * </ul>
 *
 * Ed25519 rather than an HMAC: the instances that serve need only the public key, so they cannot
 * forge a model; only a process that holds the private key (the trainer) can publish one. Key
 * material is never logged: messages name the config key and the key id, never a key.
 */
public final class ModelTrust {
  /** Reasons a record is refused, as the {@code reason} tag of the refused-models counter. */
  public static final String MALFORMED = "malformed";

  public static final String DIGEST_MISMATCH = "digest_mismatch";
  public static final String UNSIGNED = "unsigned";
  public static final String UNKNOWN_KEY = "unknown_key";
  public static final String BAD_SIGNATURE = "bad_signature";

  /** Every reason {@link #check} gives. */
  public static final List<String> REASONS =
      List.of(MALFORMED, DIGEST_MISMATCH, UNSIGNED, UNKNOWN_KEY, BAD_SIGNATURE);

  /** Why a record is refused: one of {@link #REASONS}, and what exactly was wrong. */
  public record Refusal(String reason, String detail) {}

  private static final String ALGORITHM = "Ed25519";
  private static final String SIGNATURE_DOMAIN = "llm-streams/specialist-model-signature/v1";
  private static final int SIGNATURE_BYTES = 64;
  private static final Pattern PEM =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");

  private final PrivateKey signingKey;
  private final String signingKeyId;
  private final Map<String, PublicKey> verifyKeys;

  private ModelTrust(PrivateKey signingKey, List<PublicKey> verifyKeys) {
    this.signingKey = signingKey;
    this.signingKeyId = signingKey == null ? null : keyId(publicKeyOf(signingKey));
    Map<String, PublicKey> keys = new LinkedHashMap<>();
    verifyKeys.forEach(k -> keys.put(keyId(k), k));
    this.verifyKeys = Collections.unmodifiableMap(keys);
  }

  /** No keys: digests are checked when present, nothing is signed, unsigned records are served. */
  public static ModelTrust off() {
    return new ModelTrust(null, List.of());
  }

  /**
   * @param signingKey signs the records this process publishes; null: they carry a digest only
   * @param verifyKeys when not empty, only records signed by one of them are served
   */
  public static ModelTrust of(PrivateKey signingKey, List<PublicKey> verifyKeys) {
    return new ModelTrust(signingKey, List.copyOf(verifyKeys));
  }

  /**
   * The keys of {@code specialist.models.*}.
   *
   * @throws ConfigException when a key cannot be read, or the signing key's public key is not among
   *     the verify keys (this instance would refuse the models it publishes)
   */
  public static ModelTrust from(AppConfig config) {
    PrivateKey signing = null;
    Password inline = config.getPassword(AppConfig.SPECIALIST_MODELS_SIGNING_KEY);
    String signingFile = config.getString(AppConfig.SPECIALIST_MODELS_SIGNING_KEY_FILE);
    if (inline != null && !inline.value().isBlank()) {
      try {
        signing = privateKey(inline.value());
      } catch (IllegalArgumentException e) {
        throw new ConfigException(
            AppConfig.SPECIALIST_MODELS_SIGNING_KEY, "[hidden]", e.getMessage());
      }
    } else if (!signingFile.isBlank()) {
      try {
        signing = privateKey(read(signingFile));
      } catch (IllegalArgumentException | UncheckedIOException e) {
        throw new ConfigException(
            AppConfig.SPECIALIST_MODELS_SIGNING_KEY_FILE, signingFile, e.getMessage());
      }
    }
    List<PublicKey> verify = List.of();
    String verifyFile = config.getString(AppConfig.SPECIALIST_MODELS_VERIFY_KEY_FILE);
    if (!verifyFile.isBlank()) {
      try {
        verify = publicKeys(read(verifyFile));
      } catch (IllegalArgumentException | UncheckedIOException e) {
        throw new ConfigException(
            AppConfig.SPECIALIST_MODELS_VERIFY_KEY_FILE, verifyFile, e.getMessage());
      }
    }
    ModelTrust trust = of(signing, verify);
    if (trust.signs() && trust.verifies() && !trust.verifyKeys.containsKey(trust.signingKeyId)) {
      throw new ConfigException(
          AppConfig.SPECIALIST_MODELS_VERIFY_KEY_FILE,
          verifyFile,
          "none of its keys ("
              + String.join(", ", trust.verifyKeys.keySet())
              + ") is the public key of the signing key ("
              + trust.signingKeyId
              + "): this instance would refuse the models it publishes");
    }
    return trust;
  }

  /** True when only signed records are served. */
  public boolean verifies() {
    return !verifyKeys.isEmpty();
  }

  /** True when the records this process publishes are signed. */
  public boolean signs() {
    return signingKey != null;
  }

  /** The key id of the signing key, or null. */
  public String signingKeyId() {
    return signingKeyId;
  }

  /** The key ids of the verify keys, in the order of the file. */
  public List<String> verifyKeyIds() {
    return List.copyOf(verifyKeys.keySet());
  }

  /**
   * The record as this process publishes it: with its digest (recomputed) and, with a signing key,
   * its signature and key id.
   */
  public SpecialistModel seal(SpecialistModel record) {
    String digest = ModelDigest.of(record);
    if (signingKey == null) {
      return record.sealed(digest, null, null);
    }
    try {
      Signature signer = Signature.getInstance(ALGORITHM);
      signer.initSign(signingKey);
      signer.update(signingInput(record.name(), record.version(), digest, signingKeyId));
      return record.sealed(digest, Base64.getEncoder().encodeToString(signer.sign()), signingKeyId);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign model " + record.name() + ": " + e, e);
    }
  }

  /** Why the record must not be served, or empty when it may be. */
  public Optional<Refusal> check(SpecialistModel record) {
    String digest = record.digest();
    if (digest == null) {
      return verifies()
          ? refuse(UNSIGNED, "the record has no digest and no signature; signatures are required")
          : Optional.empty(); // a record from before digests: the loader still checks the artifact
    }
    if (!ModelDigest.wellFormed(digest)) {
      return refuse(MALFORMED, "the digest is not 'sha256:' and 64 lowercase hex digits");
    }
    String actual;
    try {
      actual = ModelDigest.of(record);
    } catch (IllegalArgumentException e) {
      return refuse(MALFORMED, e.getMessage());
    }
    if (!actual.equals(digest)) {
      return refuse(
          DIGEST_MISMATCH,
          "the content's digest is " + actual + ", the record says " + digest + " (tampered)");
    }
    if (!verifies()) {
      return Optional.empty();
    }
    if (record.signature() == null || record.signature().isBlank()) {
      return refuse(UNSIGNED, "the record is not signed; signatures are required");
    }
    byte[] signature;
    try {
      signature = Base64.getDecoder().decode(record.signature());
    } catch (IllegalArgumentException e) {
      return refuse(MALFORMED, "the signature is not base64");
    }
    if (signature.length != SIGNATURE_BYTES) {
      return refuse(
          MALFORMED,
          "the signature has " + signature.length + " bytes, an Ed25519 one " + SIGNATURE_BYTES);
    }
    List<PublicKey> candidates;
    if (record.keyId() != null) {
      PublicKey key = verifyKeys.get(record.keyId());
      if (key == null) {
        return refuse(
            UNKNOWN_KEY,
            "signed by key "
                + record.keyId()
                + ", not one of the verify keys ("
                + String.join(", ", verifyKeys.keySet())
                + ")");
      }
      candidates = List.of(key);
    } else {
      candidates = new ArrayList<>(verifyKeys.values());
    }
    byte[] input = signingInput(record.name(), record.version(), digest, record.keyId());
    for (PublicKey key : candidates) {
      if (verify(key, input, signature)) {
        return Optional.empty();
      }
    }
    return refuse(
        BAD_SIGNATURE,
        record.keyId() != null
            ? "the signature does not verify with key " + record.keyId()
            : "the signature verifies with none of the verify keys");
  }

  private static Optional<Refusal> refuse(String reason, String detail) {
    return Optional.of(new Refusal(reason, detail));
  }

  private static boolean verify(PublicKey key, byte[] input, byte[] signature) {
    try {
      Signature verifier = Signature.getInstance(ALGORITHM);
      verifier.initVerify(key);
      verifier.update(input);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /**
   * What is signed (version 1): {@code str("llm-streams/specialist-model-signature/v1")}, {@code
   * str(name)}, {@code str(version)}, {@code str(digest)}, {@code str(keyId or "")}, with {@code
   * str} as in {@link ModelDigest}. The digest already covers name and version; they are repeated
   * so that what a signature is for reads off the signed bytes.
   */
  static byte[] signingInput(String name, String version, String digest, String keyId) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      for (String s :
          new String[] {SIGNATURE_DOMAIN, name, version, digest, keyId == null ? "" : keyId}) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(utf8.length);
        out.write(utf8);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /**
   * {@code ed25519:} and the first 16 hex digits of the SHA-256 of the public key's X.509 encoding
   * (what {@code openssl pkey -pubout -outform DER | sha256sum} hashes).
   */
  public static String keyId(PublicKey key) {
    return "ed25519:"
        + HexFormat.of().formatHex(ModelDigest.sha256(key.getEncoded())).substring(0, 16);
  }

  /**
   * An Ed25519 private key: PEM {@code PRIVATE KEY} (PKCS #8, as {@code openssl genpkey -algorithm
   * ed25519} writes it), or the base64 of its DER bytes.
   */
  public static PrivateKey privateKey(String text) {
    List<byte[]> der = der(text, "PRIVATE KEY");
    if (der.size() != 1) {
      throw new IllegalArgumentException(
          "expected one Ed25519 private key (PEM PRIVATE KEY, PKCS #8), found " + der.size());
    }
    try {
      return KeyFactory.getInstance(ALGORITHM).generatePrivate(new PKCS8EncodedKeySpec(der.get(0)));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("not an Ed25519 private key (PKCS #8)");
    } finally {
      Arrays.fill(der.get(0), (byte) 0);
    }
  }

  /**
   * Ed25519 public keys: one or more PEM {@code PUBLIC KEY} blocks (X.509, as {@code openssl pkey
   * -pubout} writes them), or the base64 of one's DER bytes.
   */
  public static List<PublicKey> publicKeys(String text) {
    List<byte[]> der = der(text, "PUBLIC KEY");
    if (der.isEmpty()) {
      throw new IllegalArgumentException("holds no Ed25519 public key (PEM PUBLIC KEY)");
    }
    List<PublicKey> keys = new ArrayList<>();
    for (byte[] d : der) {
      try {
        keys.add(KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(d)));
      } catch (GeneralSecurityException e) {
        throw new IllegalArgumentException(
            "block " + (keys.size() + 1) + " is not an Ed25519 public key (X.509)");
      }
    }
    return keys;
  }

  /** PEM in the text as standard base64; a text with no PEM block is taken as one DER's base64. */
  private static List<byte[]> der(String text, String type) {
    List<byte[]> out = new ArrayList<>();
    Matcher m = PEM.matcher(text);
    boolean any = false;
    while (m.find()) {
      any = true;
      if (m.group(1).equals(type)) {
        out.add(base64(m.group(2)));
      }
    }
    if (!any && !text.isBlank()) {
      out.add(base64(text));
    }
    return out;
  }

  private static byte[] base64(String text) {
    try {
      return Base64.getMimeDecoder().decode(text.strip());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the key is not PEM or base64");
    }
  }

  private static String read(String file) {
    try {
      return Files.readString(Path.of(file));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot be read: " + e.getMessage(), e);
    }
  }

  /**
   * The public key of an Ed25519 private key: the JDK derives it when it generates a pair, so a
   * generator is fed the private key's seed as its randomness.
   */
  static PublicKey publicKeyOf(PrivateKey key) {
    if (!(key instanceof EdECPrivateKey ed)) {
      throw new IllegalArgumentException("not an Ed25519 private key");
    }
    byte[] seed =
        ed.getBytes()
            .orElseThrow(() -> new IllegalArgumentException("the private key has no bytes"));
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance(ALGORITHM);
      generator.initialize(
          NamedParameterSpec.ED25519,
          new SecureRandom() {
            @Override
            public void nextBytes(byte[] bytes) {
              System.arraycopy(seed, 0, bytes, 0, Math.min(seed.length, bytes.length));
            }
          });
      KeyPair pair = generator.generateKeyPair();
      byte[] probe = "llm-streams key check".getBytes(StandardCharsets.UTF_8);
      Signature signer = Signature.getInstance(ALGORITHM);
      signer.initSign(key);
      signer.update(probe);
      if (!verify(pair.getPublic(), probe, signer.sign())) {
        throw new IllegalStateException("cannot derive the public key of the signing key");
      }
      return pair.getPublic();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot derive the public key of the signing key: " + e, e);
    } finally {
      Arrays.fill(seed, (byte) 0);
    }
  }
}
