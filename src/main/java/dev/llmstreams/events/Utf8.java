package dev.llmstreams.events;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Where bytes stop being UTF-8, said so that a producer in any language can find it; and text
 * quoted on one line ({@link #printable}).
 */
public final class Utf8 {
  /** Characters of context shown before the first byte that is not UTF-8. */
  private static final int CONTEXT = 20;

  private Utf8() {}

  /**
   * Null when {@code bytes} from {@code from} on are UTF-8; else the first byte that is not, its
   * offset, the text before it and the likely cause.
   */
  static String problem(byte[] bytes, int from) {
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes, from, bytes.length - from);
    CharBuffer out = CharBuffer.allocate(bytes.length - from);
    CoderResult result = decoder.decode(in, out, true);
    if (!result.isError()) {
      result = decoder.flush(out);
      if (!result.isError()) {
        return null;
      }
    }
    int at = in.position();
    if (at >= bytes.length) {
      return null; // not a byte that is wrong: leave it to the parser's message
    }
    out.flip();
    String before = out.toString();
    if (before.length() > CONTEXT) {
      before = "..." + before.substring(before.length() - CONTEXT);
    }
    return String.format(
        "the value is not valid UTF-8: byte 0x%02X at byte %d (after \"%s\") (text encoded as"
            + " Latin-1 or Windows-1252? JSON must be sent as UTF-8)",
        bytes[at] & 0xff, at - from, printable(before));
  }

  /**
   * Control characters shown as escapes ({@code \u000a}), so that a message or a log line that
   * quotes {@code s} stays on one line.
   */
  public static String printable(String s) {
    StringBuilder b = new StringBuilder(s.length());
    s.codePoints()
        .forEach(
            c -> {
              if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\u%04x", c));
              } else {
                b.append(Character.toChars(c));
              }
            });
    return b.toString();
  }
}
