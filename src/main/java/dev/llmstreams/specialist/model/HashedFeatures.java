package dev.llmstreams.specialist.model;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Word 1–2-grams and character 3–5-grams of a lower-cased text, hashed into {@value #BUCKETS}
 * buckets per block (words, characters), weighted (1 + ln tf)·idf and L2-normalised per block.
 * Hashing keeps no vocabulary, so a text costs no allocation per n-gram and the artifact holds only
 * the idf table.
 */
final class HashedFeatures {
  static final int BUCKETS = 1 << 16;
  static final int DIMENSIONS = 2 * BUCKETS;
  private static final int MIN_CHAR_GRAM = 3;
  private static final int MAX_CHAR_GRAM = 5;
  private static final int FNV_OFFSET = 0x811c9dc5;
  private static final int FNV_PRIME = 0x01000193;
  private static final char WORD_SEPARATOR = ' ';

  private final float[] idf;

  private HashedFeatures(float[] idf) {
    this.idf = idf;
  }

  /** Smoothed idf, ln((1 + n) / (1 + df)) + 1, from the training texts. */
  static HashedFeatures fit(List<String> texts) {
    int[] df = new int[DIMENSIONS];
    for (String text : texts) {
      int[] buckets = distinct(buckets(text));
      for (int b : buckets) {
        df[b]++;
      }
    }
    float[] idf = new float[DIMENSIONS];
    for (int i = 0; i < DIMENSIONS; i++) {
      idf[i] = (float) (Math.log((1.0 + texts.size()) / (1.0 + df[i])) + 1);
    }
    return new HashedFeatures(idf);
  }

  SparseVector vector(String text) {
    int[] buckets = buckets(text);
    Arrays.sort(buckets);
    int distinct = 0;
    int[] indices = new int[buckets.length];
    float[] values = new float[buckets.length];
    for (int i = 0; i < buckets.length; ) {
      int j = i;
      while (j < buckets.length && buckets[j] == buckets[i]) {
        j++;
      }
      indices[distinct] = buckets[i];
      values[distinct] = (float) ((1 + Math.log(j - i)) * idf[buckets[i]]);
      distinct++;
      i = j;
    }
    indices = Arrays.copyOf(indices, distinct);
    values = Arrays.copyOf(values, distinct);
    normalisePerBlock(indices, values);
    return new SparseVector(indices, values);
  }

  private static void normalisePerBlock(int[] indices, float[] values) {
    int split = 0;
    while (split < indices.length && indices[split] < BUCKETS) {
      split++;
    }
    normalise(values, 0, split);
    normalise(values, split, values.length);
  }

  private static void normalise(float[] values, int from, int to) {
    double s = 0;
    for (int i = from; i < to; i++) {
      s += (double) values[i] * values[i];
    }
    if (s > 0) {
      float scale = (float) (1 / Math.sqrt(s));
      for (int i = from; i < to; i++) {
        values[i] *= scale;
      }
    }
  }

  /** The bucket of every n-gram occurrence (repeats included, unsorted). */
  static int[] buckets(String text) {
    String t = text.toLowerCase(Locale.ROOT);
    int[] out = new int[16 + 3 * (t.length() + 2) + 2 * t.length()];
    int n = 0;
    // Words: runs of letters or digits; a bigram hashes on from its first word, so no string is
    // built.
    int previousWord = 0;
    boolean hasPrevious = false;
    for (int i = 0; i < t.length(); ) {
      if (!Character.isLetterOrDigit(t.charAt(i))) {
        i++;
        continue;
      }
      int h = FNV_OFFSET;
      int end = i;
      while (end < t.length() && Character.isLetterOrDigit(t.charAt(end))) {
        h = (h ^ t.charAt(end)) * FNV_PRIME;
        end++;
      }
      out[n++] = bucket(h, 0);
      if (hasPrevious) {
        int bigram = (previousWord ^ WORD_SEPARATOR) * FNV_PRIME;
        for (int k = i; k < end; k++) {
          bigram = (bigram ^ t.charAt(k)) * FNV_PRIME;
        }
        out[n++] = bucket(bigram, 0);
      }
      previousWord = h;
      hasPrevious = true;
      i = end;
    }
    // Characters: over the text with runs of white space as one space and a space at each end.
    char[] padded = paddedCharacters(t);
    for (int i = 0; i < padded.length; i++) {
      int h = FNV_OFFSET;
      for (int len = 1; len <= MAX_CHAR_GRAM && i + len <= padded.length; len++) {
        h = (h ^ padded[i + len - 1]) * FNV_PRIME;
        if (len >= MIN_CHAR_GRAM) {
          if (n == out.length) {
            out = Arrays.copyOf(out, out.length * 2);
          }
          out[n++] = bucket(h, 1);
        }
      }
    }
    return Arrays.copyOf(out, n);
  }

  private static char[] paddedCharacters(String t) {
    StringBuilder b = new StringBuilder(t.length() + 2).append(' ');
    for (int i = 0; i < t.length(); i++) {
      char c = t.charAt(i);
      if (Character.isWhitespace(c)) {
        if (b.charAt(b.length() - 1) != ' ') {
          b.append(' ');
        }
      } else {
        b.append(c);
      }
    }
    if (b.charAt(b.length() - 1) != ' ') {
      b.append(' ');
    }
    char[] out = new char[b.length()];
    b.getChars(0, b.length(), out, 0);
    return out;
  }

  /** FNV-1a's low bits are weak: mix (murmur3's finaliser) before taking them. */
  private static int bucket(int hash, int block) {
    int h = hash;
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return block * BUCKETS + (h & (BUCKETS - 1));
  }

  private static int[] distinct(int[] buckets) {
    return Arrays.stream(buckets).distinct().toArray();
  }

  void write(DataOutput out) throws IOException {
    out.writeInt(DIMENSIONS);
    for (float v : idf) {
      out.writeFloat(v);
    }
  }

  static HashedFeatures read(DataInput in) throws IOException {
    int dimensions = in.readInt();
    if (dimensions != DIMENSIONS) {
      throw new IllegalArgumentException(
          "hashed features of " + dimensions + " dimensions; this build reads " + DIMENSIONS);
    }
    float[] idf = new float[DIMENSIONS];
    for (int i = 0; i < DIMENSIONS; i++) {
      idf[i] = in.readFloat();
    }
    return new HashedFeatures(idf);
  }
}
