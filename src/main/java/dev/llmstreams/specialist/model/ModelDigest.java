package dev.llmstreams.specialist.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.SpecialistModel;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The digest of a {@link SpecialistModel}: {@code sha256:} and the lowercase hex SHA-256 of the
 * record's canonical form, which depends on the record's values, not on how its JSON was spelled
 * (field order, whitespace, escapes, number notation, base64 padding).
 *
 * <p>Canonical form, version 1: a sequence of items in this order, where {@code str(s)} is the
 * 4-byte big-endian length of the UTF-8 bytes of {@code s} followed by those bytes, {@code int(n)}
 * a 4-byte big-endian integer and {@code long(n)} an 8-byte one:
 *
 * <ol>
 *   <li>{@code str("llm-streams/specialist-model/v1")}
 *   <li>{@code str(name)}, {@code str(version)}
 *   <li>{@code long(createdAt epoch second)}, {@code int(createdAt nanosecond of the second)}
 *   <li>{@code int(number of labels)}, then {@code str(label)} for each, in order
 *   <li>{@code str(trainingDataDigest in lowercase)}
 *   <li>{@code json(metrics)}, {@code json(config)} (see below; absent is JSON null)
 *   <li>{@code str(format)}
 *   <li>the 32 bytes of the SHA-256 of the decoded artifact (base64, RFC 4648 basic alphabet,
 *       padding optional)
 *   <li>{@code str(artifactSha256 in lowercase)}
 * </ol>
 *
 * <p>{@code json(v)}: null {@code 'z'}; false {@code 'f'}; true {@code 't'}; a string {@code 's'}
 * {@code str(v)}; a number {@code 'n'} {@code str(d)} with {@code d} its exact decimal value in
 * plain notation without trailing zeros ({@code 2}, {@code 0.5}, {@code -3}), taken from the
 * integer when JSON spells one without fraction or exponent, else from the nearest IEEE-754 double
 * (so {@code 0.1} is {@code 0.1000000000000000055511151231257827021181583404541015625}); an array
 * {@code 'a'} {@code int(size)} then each element; an object {@code 'o'} {@code int(size)} then
 * {@code str(key)} {@code json(value)} for each member, keys in ascending order of their UTF-16
 * code units (Java's {@code String.compareTo}). Tags are one ASCII byte.
 *
 * <p>The digest, signature and key id are not part of it.
 */
public final class ModelDigest {
  /** What every digest starts with. */
  public static final String PREFIX = "sha256:";

  private static final String DOMAIN = "llm-streams/specialist-model/v1";
  private static final Pattern FORM = Pattern.compile("sha256:[0-9a-f]{64}");

  private ModelDigest() {}

  /**
   * The digest of the record's content.
   *
   * @throws IllegalArgumentException when the artifact is not base64
   */
  public static String of(SpecialistModel record) {
    return PREFIX + HexFormat.of().formatHex(sha256(canonical(record)));
  }

  /** True when {@code digest} has the form {@code sha256:} and 64 lowercase hex digits. */
  public static boolean wellFormed(String digest) {
    return digest != null && FORM.matcher(digest).matches();
  }

  /**
   * The same record with its digest (recomputed) and no signature: whatever changed it, a signature
   * it had no longer applies.
   */
  public static SpecialistModel digested(SpecialistModel record) {
    return record.sealed(of(record), null, null);
  }

  /** The canonical form the digest is the SHA-256 of (see the class comment). */
  static byte[] canonical(SpecialistModel r) {
    byte[] artifact;
    try {
      artifact = Base64.getDecoder().decode(r.artifact());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the artifact is not base64: " + e.getMessage(), e);
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      str(out, DOMAIN);
      str(out, r.name());
      str(out, r.version());
      out.writeLong(r.createdAt().getEpochSecond());
      out.writeInt(r.createdAt().getNano());
      out.writeInt(r.labels().size());
      for (String label : r.labels()) {
        str(out, label);
      }
      str(out, r.trainingDataDigest().toLowerCase(Locale.ROOT));
      json(out, r.metrics());
      json(out, r.config());
      str(out, r.format());
      out.write(sha256(artifact));
      str(out, r.artifactSha256().toLowerCase(Locale.ROOT));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static void json(DataOutputStream out, JsonNode node) throws IOException {
    if (node == null || node.isNull() || node.isMissingNode()) {
      out.writeByte('z');
    } else if (node.isBoolean()) {
      out.writeByte(node.booleanValue() ? 't' : 'f');
    } else if (node.isTextual()) {
      out.writeByte('s');
      str(out, node.textValue());
    } else if (node.isNumber()) {
      out.writeByte('n');
      str(out, number(node));
    } else if (node.isArray()) {
      out.writeByte('a');
      out.writeInt(node.size());
      for (JsonNode element : node) {
        json(out, element);
      }
    } else if (node.isObject()) {
      out.writeByte('o');
      List<String> keys = new ArrayList<>();
      node.fieldNames().forEachRemaining(keys::add);
      keys.sort(null);
      out.writeInt(keys.size());
      for (String key : keys) {
        str(out, key);
        json(out, node.get(key));
      }
    } else {
      throw new IllegalArgumentException("a JSON value of type " + node.getNodeType());
    }
  }

  private static String number(JsonNode node) {
    BigDecimal exact;
    if (node.isIntegralNumber()) {
      exact = new BigDecimal(node.bigIntegerValue());
    } else {
      double d = node.doubleValue();
      if (!Double.isFinite(d)) {
        return Double.toString(d);
      }
      exact = new BigDecimal(d);
    }
    return exact.signum() == 0 ? "0" : exact.stripTrailingZeros().toPlainString();
  }

  private static void str(DataOutputStream out, String s) throws IOException {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(utf8.length);
    out.write(utf8);
  }

  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
