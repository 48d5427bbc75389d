package dev.llmstreams.runtime.text;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A short fingerprint of a text, to tell an input sent again with the same text from one sent again
 * with other text under the same id.
 */
public final class TextDigest {
  private TextDigest() {}

  /** 128 bits of the SHA-256 of the text's UTF-8, in hex. */
  public static String of(String text) {
    try {
      byte[] sha =
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(sha, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
