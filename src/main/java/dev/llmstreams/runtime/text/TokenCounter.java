package dev.llmstreams.runtime.text;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

/**
 * Counts the tokens of a piece of text for a given tokenizer.
 *
 * <p>Implementations must be thread-safe. {@link #tokenEnds(String)} is optional: it lets the
 * {@link Chunker} split an over-long sentence exactly on token boundaries; a counter that cannot
 * provide it returns {@code null} and the chunker falls back to splitting by words/characters.
 */
@FunctionalInterface
public interface TokenCounter {

  /** Number of tokens in {@code text}. Special-token markers are counted as ordinary text. */
  int count(String text);

  /**
   * Optional: the UTF-8 byte offset at which each token of {@code text} ends (strictly increasing,
   * the last equal to the UTF-8 length of {@code text}), or {@code null} if this counter cannot
   * tell.
   */
  default int[] tokenEnds(String text) {
    return null;
  }

  /** The OpenAI {@code cl100k_base} tokenizer (GPT-4 / GPT-3.5 family), backed by jtokkit. */
  static TokenCounter cl100k() {
    return Cl100k.INSTANCE;
  }

  /** Holder: the encoding is built once, lazily, and shared (jtokkit encodings are thread-safe). */
  final class Cl100k implements TokenCounter {
    private static final Cl100k INSTANCE = new Cl100k();

    private final Encoding encoding =
        Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);

    private Cl100k() {}

    @Override
    public int count(String text) {
      // "Ordinary": text such as "<|endoftext|>" inside a user document is plain text, not a
      // special token (encode() would throw on it).
      return encoding.countTokensOrdinary(wellFormed(text));
    }

    @Override
    public int[] tokenEnds(String text) {
      IntArrayList tokens = encoding.encodeOrdinary(wellFormed(text));
      IntArrayList one = new IntArrayList(1);
      one.add(0);
      int[] ends = new int[tokens.size()];
      int bytes = 0;
      for (int i = 0; i < ends.length; i++) {
        one.set(0, tokens.get(i));
        bytes += encoding.decodeBytes(one).length;
        ends[i] = bytes;
      }
      return ends;
    }

    /**
     * Replaces lone surrogates (invalid UTF-16, e.g. a string cut inside an emoji) by U+FFFD, as a
     * UTF-8 encoder would; jtokkit rejects them. Same length, so char offsets stay valid.
     */
    static String wellFormed(String text) {
      int n = text.length();
      for (int i = 0; i < n; i++) {
        char c = text.charAt(i);
        if (Character.isSurrogate(c)) {
          if (Character.isHighSurrogate(c)
              && i + 1 < n
              && Character.isLowSurrogate(text.charAt(i + 1))) {
            i++;
            continue;
          }
          return replaceLoneSurrogates(text);
        }
      }
      return text;
    }

    private static String replaceLoneSurrogates(String text) {
      char[] chars = text.toCharArray();
      for (int i = 0; i < chars.length; i++) {
        char c = chars[i];
        if (Character.isHighSurrogate(c)
            && i + 1 < chars.length
            && Character.isLowSurrogate(chars[i + 1])) {
          i++;
        } else if (Character.isSurrogate(c)) {
          chars[i] = '\uFFFD';
        }
      }
      return new String(chars);
    }

    @Override
    public String toString() {
      return "TokenCounter[cl100k_base]";
    }
  }
}
