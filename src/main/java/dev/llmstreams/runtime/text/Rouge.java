package dev.llmstreams.runtime.text;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ROUGE (Lin, 2004) on lower-cased word tokens {@code [a-z0-9]+}, no stemming and no stop-word
 * removal: ROUGE-N as clipped n-gram overlap, ROUGE-L as the longest common subsequence of the two
 * token sequences (the sentence-level form over the whole text, not the summary-level union LCS).
 * Scores are comparable within one run of this code, not with figures from the official Perl
 * script, which stems.
 */
public final class Rouge {
  private static final Pattern TOKEN = Pattern.compile("[a-z0-9]+");

  /**
   * Precision (over the candidate), recall (over the reference) and their harmonic mean; all 0 when
   * nothing matches.
   */
  public record Score(double precision, double recall, double f1) {
    static Score of(long overlap, long candidate, long reference) {
      double p = candidate == 0 ? 0 : (double) overlap / candidate;
      double r = reference == 0 ? 0 : (double) overlap / reference;
      return new Score(p, r, p + r == 0 ? 0 : 2 * p * r / (p + r));
    }
  }

  private Rouge() {}

  public static List<String> tokens(String text) {
    List<String> out = new ArrayList<>();
    Matcher m = TOKEN.matcher(text.toLowerCase(Locale.ROOT));
    while (m.find()) {
      out.add(m.group());
    }
    return out;
  }

  public static Score n(String candidate, String reference, int n) {
    return n(tokens(candidate), tokens(reference), n);
  }

  /**
   * ROUGE-N: each reference n-gram matches at most as many times as it occurs in the candidate
   * (clipped counts).
   */
  public static Score n(List<String> candidate, List<String> reference, int n) {
    if (n < 1) {
      throw new IllegalArgumentException("n must be at least 1, was " + n);
    }
    Map<List<String>, Integer> left = ngrams(candidate, n);
    long overlap = 0;
    for (Map.Entry<List<String>, Integer> e : ngrams(reference, n).entrySet()) {
      overlap += Math.min(e.getValue(), left.getOrDefault(e.getKey(), 0));
    }
    return Score.of(
        overlap, Math.max(0, candidate.size() - n + 1), Math.max(0, reference.size() - n + 1));
  }

  public static Score l(String candidate, String reference) {
    return l(tokens(candidate), tokens(reference));
  }

  /**
   * ROUGE-L: LCS length over candidate length (precision) and reference length (recall), two rows
   * of memory.
   */
  public static Score l(List<String> candidate, List<String> reference) {
    int[] previous = new int[reference.size() + 1];
    int[] current = new int[reference.size() + 1];
    for (String c : candidate) {
      for (int j = 1; j <= reference.size(); j++) {
        current[j] =
            c.equals(reference.get(j - 1))
                ? previous[j - 1] + 1
                : Math.max(previous[j], current[j - 1]);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return Score.of(previous[reference.size()], candidate.size(), reference.size());
  }

  private static Map<List<String>, Integer> ngrams(List<String> tokens, int n) {
    Map<List<String>, Integer> counts = new HashMap<>();
    for (int i = 0; i + n <= tokens.size(); i++) {
      counts.merge(List.copyOf(tokens.subList(i, i + n)), 1, Integer::sum);
    }
    return counts;
  }
}
