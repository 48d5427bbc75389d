package dev.llmstreams.summarizer;

import dev.llmstreams.runtime.text.TokenCounter;
import java.text.BreakIterator;
import java.text.StringCharacterIterator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Splits a document into chunks of at most {@code maxTokens} real tokens, for the recursive
 * summarizer. Plain Java, no Kafka; instances are immutable and thread-safe if the {@link
 * TokenCounter} is.
 *
 * <h2>Algorithm</h2>
 *
 * <ol>
 *   <li><b>Sentences.</b> The text is cut at every line break (so lines and paragraphs are always
 *       boundaries) and each line is cut into sentences with {@code
 *       BreakIterator.getSentenceInstance(Locale.ROOT)}. Each sentence is trimmed of surrounding
 *       whitespace; whitespace-only sentences are dropped. Each sentence is counted <em>once</em>;
 *       the whitespace gap before it is counted too unless it is empty or a single space (which BPE
 *       merges into the next word).
 *   <li><b>Long sentences.</b> A sentence with more than {@code maxTokens} tokens is split into
 *       pieces on token boundaries (encode, slice, map back to character offsets), preferring a
 *       whitespace inside the second half of each slice so that words stay whole. Pieces never cut
 *       a surrogate pair. Nothing is ever dropped.
 *   <li><b>Packing.</b> Sentences (and pieces) are packed greedily, summing their counts, never
 *       re-counting a growing string. Each finished chunk is counted once with the real counter; in
 *       the rare case BPE merges across sentences make it exceed the budget, the last sentence is
 *       pushed to the next chunk. So {@code chunk.tokens() <= maxTokens} always holds for the real
 *       count.
 *   <li><b>Overlap.</b> Each chunk after the first starts with the trailing whole sentences of the
 *       previous chunk whose estimated total is at most {@code overlapTokens} (none if the last
 *       sentence alone exceeds it). The overlap never includes the previous chunk's first sentence,
 *       so chunk starts strictly increase, and it is reduced (from the front) when it would not
 *       leave room for the next new sentence.
 * </ol>
 *
 * <h2>Offsets</h2>
 *
 * Whitespace is never normalised: {@code text.substring(c.startChar(), c.endChar())} equals {@code
 * c.text()}. Chunks start and end on non-whitespace. Every non-whitespace character ({@link
 * Character#isWhitespace}) of the input is inside at least one chunk; with {@code overlapTokens ==
 * 0} chunks are disjoint and in order.
 *
 * <p>Cost is linear in the text length: each sentence is tokenized once for its count and each
 * chunk once for verification.
 */
public final class Chunker {

  /** Smallest accepted budget: a single code point can be up to 4 tokens. */
  public static final int MIN_MAX_TOKENS = 16;

  /**
   * One chunk.
   *
   * @param index 0-based position in the document
   * @param text the chunk text, exactly {@code original.substring(startChar, endChar)}
   * @param tokens real token count of {@code text} (never above the chunker's maxTokens)
   * @param startChar inclusive char offset into the original text
   * @param endChar exclusive char offset into the original text
   */
  public record Chunk(int index, String text, int tokens, int startChar, int endChar) {
    public Chunk {
      Objects.requireNonNull(text, "text");
      if (startChar < 0 || endChar < startChar || endChar - startChar != text.length()) {
        throw new IllegalArgumentException(
            "inconsistent chunk offsets ["
                + startChar
                + ", "
                + endChar
                + ") for text of length "
                + text.length());
      }
    }
  }

  private final TokenCounter counter;
  private final int maxTokens;
  private final int overlapTokens;

  public Chunker(TokenCounter counter, int maxTokens, int overlapTokens) {
    this.counter = Objects.requireNonNull(counter, "counter must not be null");
    if (maxTokens < MIN_MAX_TOKENS) {
      throw new IllegalArgumentException(
          "maxTokens must be >= " + MIN_MAX_TOKENS + " but was " + maxTokens);
    }
    if (overlapTokens < 0) {
      throw new IllegalArgumentException("overlapTokens must be >= 0 but was " + overlapTokens);
    }
    if (overlapTokens >= maxTokens / 2.0) {
      throw new IllegalArgumentException(
          "overlapTokens must be < maxTokens/2 (maxTokens="
              + maxTokens
              + ") but was "
              + overlapTokens);
    }
    this.maxTokens = maxTokens;
    this.overlapTokens = overlapTokens;
  }

  public int maxTokens() {
    return maxTokens;
  }

  public TokenCounter counter() {
    return counter;
  }

  public int overlapTokens() {
    return overlapTokens;
  }

  /** Chunks {@code text}; an empty or blank text gives an empty list. */
  public List<Chunk> chunk(String text) {
    Objects.requireNonNull(text, "text must not be null");
    if (text.isBlank()) {
      return List.of();
    }
    Units units = new Units();
    segment(text, units);
    return pack(text, units);
  }

  // ---------------------------------------------------------------------------------------------
  // 1. sentences

  private void segment(String text, Units units) {
    BreakIterator sentences = BreakIterator.getSentenceInstance(Locale.ROOT);
    int n = text.length();
    int lineStart = 0;
    while (lineStart < n) {
      int lineEnd = lineStart;
      while (lineEnd < n && !isLineBreak(text.charAt(lineEnd))) {
        lineEnd++;
      }
      if (lineEnd > lineStart) {
        sentences.setText(new StringCharacterIterator(text, lineStart, lineEnd, lineStart));
        int s = sentences.first();
        for (int e = sentences.next(); e != BreakIterator.DONE; s = e, e = sentences.next()) {
          addSpan(text, s, e, units);
        }
      }
      lineStart = lineEnd + 1;
    }
  }

  private static boolean isLineBreak(char c) {
    return c == '\n'
        || c == '\r'
        || c == '\u2028'
        || c == '\u2029'
        || c == '\u0085'
        || c == '\u000B'
        || c == '\f';
  }

  private void addSpan(String text, int s, int e, Units units) {
    while (s < e && Character.isWhitespace(text.charAt(s))) {
      s++;
    }
    while (e > s && Character.isWhitespace(text.charAt(e - 1))) {
      e--;
    }
    if (s == e) {
      return;
    }
    String sentence = text.substring(s, e);
    int tokens = counter.count(sentence);
    if (tokens <= maxTokens) {
      units.add(s, e, tokens, gapTokens(text, units, s));
    } else {
      splitLong(text, s, sentence, tokens, units);
    }
  }

  private int gapTokens(String text, Units units, int start) {
    if (units.size == 0) {
      return 0;
    }
    int prevEnd = units.end[units.size - 1];
    int len = start - prevEnd;
    if (len == 0 || (len == 1 && text.charAt(prevEnd) == ' ')) {
      return 0;
    }
    return counter.count(text.substring(prevEnd, start));
  }

  // ---------------------------------------------------------------------------------------------
  // 2. a sentence longer than maxTokens

  private void splitLong(String text, int s, String sentence, int sentenceTokens, Units units) {
    int len = sentence.length();
    // byteAt[i] = UTF-8 offset of char i (for a low surrogate: offset of its pair's start)
    int[] byteAt = new int[len + 1];
    int bytes = 0;
    for (int i = 0; i < len; ) {
      char c = sentence.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < len
          && Character.isLowSurrogate(sentence.charAt(i + 1))) {
        byteAt[i] = bytes;
        byteAt[i + 1] = bytes;
        bytes += 4;
        i += 2;
      } else {
        byteAt[i] = bytes;
        // a lone surrogate counts as U+FFFD (3 bytes), see TokenCounter.cl100k()
        bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
        i++;
      }
    }
    byteAt[len] = bytes;
    int[] tokenEnds = counter.tokenEnds(sentence);
    if (tokenEnds != null && (tokenEnds.length == 0 || tokenEnds[tokenEnds.length - 1] != bytes)) {
      tokenEnds = null; // counter disagrees with our UTF-8 view: fall back to density estimate
    }

    int from = 0; // local char offset, always on non-whitespace
    while (from < len) {
      int budget = maxTokens;
      while (true) {
        int cut = candidateCut(sentence, byteAt, tokenEnds, sentenceTokens, from, budget);
        cut = preferWhitespace(sentence, from, cut);
        int pieceEnd = cut;
        while (pieceEnd > from && Character.isWhitespace(sentence.charAt(pieceEnd - 1))) {
          pieceEnd--;
        }
        String piece = sentence.substring(from, pieceEnd);
        int tokens = counter.count(piece);
        if (tokens <= maxTokens || budget <= 1) {
          if (tokens > maxTokens) { // cannot happen with maxTokens >= 16; be loud if it does
            throw new IllegalStateException(
                "cannot fit a single code point into " + maxTokens + " tokens");
          }
          units.add(s + from, s + pieceEnd, tokens, gapTokens(text, units, s + from));
          from = cut;
          while (from < len && Character.isWhitespace(sentence.charAt(from))) {
            from++;
          }
          break;
        }
        budget = Math.max(1, budget - Math.max(1, tokens - maxTokens));
      }
    }
  }

  /**
   * End (exclusive, local) of a slice starting at {@code from} holding about {@code budget} tokens.
   */
  private static int candidateCut(
      String sentence, int[] byteAt, int[] tokenEnds, int sentenceTokens, int from, int budget) {
    int len = sentence.length();
    int cut;
    if (tokenEnds != null) {
      int fromByte = byteAt[from];
      // first token ending after fromByte
      int k = Arrays.binarySearch(tokenEnds, fromByte);
      k = k >= 0 ? k + 1 : -k - 1;
      int lastToken = Math.min(tokenEnds.length - 1, k + budget - 1);
      int endByte = tokenEnds[lastToken];
      // largest char index whose byte offset <= endByte
      int c = Arrays.binarySearch(byteAt, from, len + 1, endByte);
      cut = c >= 0 ? c : -c - 2; // a hit inside a surrogate pair is fixed below
    } else {
      double charsPerToken = (double) len / Math.max(1, sentenceTokens);
      cut = from + (int) Math.floor(budget * charsPerToken);
    }
    cut = Math.min(len, cut);
    if (cut < len
        && cut > 0
        && Character.isLowSurrogate(sentence.charAt(cut))
        && Character.isHighSurrogate(sentence.charAt(cut - 1))) {
      cut--;
    }
    if (cut <= from) { // always make progress: at least one code point
      cut = from + Character.charCount(sentence.codePointAt(from));
    }
    return cut;
  }

  /** Moves {@code cut} back to a whitespace in the second half of the slice, if there is one. */
  private static int preferWhitespace(String sentence, int from, int cut) {
    if (cut >= sentence.length()) {
      return cut;
    }
    int min = from + (cut - from) / 2;
    for (int i = cut; i > min; i--) {
      if (Character.isWhitespace(sentence.charAt(i))) {
        return i;
      }
    }
    return cut;
  }

  // ---------------------------------------------------------------------------------------------
  // 3. packing with overlap

  private List<Chunk> pack(String text, Units u) {
    int n = u.size;
    long[] prefix = new long[n + 1]; // prefix[k] = sum over t < k of (tokens[t] + gap[t])
    for (int t = 0; t < n; t++) {
      prefix[t + 1] = prefix[t] + u.tokens[t] + u.gap[t];
    }
    List<Chunk> chunks = new ArrayList<>();
    int next = 0; // first unit not yet in any chunk
    int prevFirst = -1; // first unit of the previous chunk
    while (next < n) {
      int first = next;
      if (overlapTokens > 0 && prevFirst >= 0) {
        while (first - 1 > prevFirst && estimate(u, prefix, first - 1, next - 1) <= overlapTokens) {
          first--;
        }
        // the estimate may be off (BPE merges, a counter with other whitespace rules): verify for
        // real
        while (first < next - 1
            && counter.count(text.substring(u.start[first], u.end[next - 1])) > overlapTokens) {
          first++;
        }
      }
      while (first < next && estimate(u, prefix, first, next) > maxTokens) {
        first++;
      }
      int last = next;
      while (last + 1 < n && estimate(u, prefix, first, last + 1) <= maxTokens) {
        last++;
      }
      String chunkText;
      int tokens;
      while (true) {
        chunkText = text.substring(u.start[first], u.end[last]);
        tokens = first == last ? u.tokens[first] : counter.count(chunkText);
        if (tokens <= maxTokens) {
          break;
        }
        // Over budget (estimates are sums; BPE merges or the counter's whitespace rules differ).
        // Drop about as many estimated tokens as we are over, new units from the end first,
        // then overlap units from the front, and count again.
        long over = tokens - maxTokens;
        long dropped = 0;
        int before = last - first;
        while (dropped < over && last > next) {
          dropped += u.tokens[last] + u.gap[last];
          last--;
        }
        while (dropped < over && first < next) {
          dropped += u.tokens[first] + u.gap[first + 1];
          first++;
        }
        if (last - first == before) {
          throw new IllegalStateException(
              "unit exceeds budget"); // unreachable: units are <= maxTokens
        }
      }
      chunks.add(new Chunk(chunks.size(), chunkText, tokens, u.start[first], u.end[last]));
      prevFirst = first;
      next = last + 1;
    }
    return chunks;
  }

  /** Estimated tokens of units a..b (inclusive): their counts plus the gaps between them. */
  private static long estimate(Units u, long[] prefix, int a, int b) {
    return prefix[b + 1] - prefix[a] - u.gap[a];
  }

  /** Growable struct-of-arrays of sentence spans (cheap for millions of sentences). */
  private static final class Units {
    int size;
    int[] start = new int[64];
    int[] end = new int[64];
    int[] tokens = new int[64];
    int[] gap = new int[64];

    void add(int s, int e, int t, int g) {
      if (size == start.length) {
        int cap = size * 2;
        start = Arrays.copyOf(start, cap);
        end = Arrays.copyOf(end, cap);
        tokens = Arrays.copyOf(tokens, cap);
        gap = Arrays.copyOf(gap, cap);
      }
      start[size] = s;
      end[size] = e;
      tokens[size] = t;
      gap[size] = g;
      size++;
    }
  }

  @Override
  public String toString() {
    return "Chunker["
        + counter
        + ", maxTokens="
        + maxTokens
        + ", overlapTokens="
        + overlapTokens
        + "]";
  }
}
