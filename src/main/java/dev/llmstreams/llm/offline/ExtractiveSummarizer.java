package dev.llmstreams.llm.offline;

import dev.llmstreams.runtime.text.SentenceEncoder;
import dev.llmstreams.runtime.text.TokenCounter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * Picks source sentences by maximal marginal relevance (similarity to the centroid of all
 * sentences, minus similarity to those already picked) until the token budget is spent, and returns
 * them in source order. It only selects: no word of the output is its own, so instructions inside
 * the text are data like any other.
 */
final class ExtractiveSummarizer {
  /** Weight of centrality against novelty. */
  static final double LAMBDA = 0.7;

  /** Sentences with fewer words ("Okay.", "Mm-hmm.") are not candidates while longer ones exist. */
  static final int MIN_WORDS = 5;

  static final String SEPARATOR = "\n";

  private final SentenceEncoder encoder;
  private final TokenCounter tokens;

  ExtractiveSummarizer(SentenceEncoder encoder, TokenCounter tokens) {
    this.encoder = encoder;
    this.tokens = tokens;
  }

  /**
   * The summary of the sentences of {@code sources}, at most {@code maxTokens} tokens when joined
   * by newlines.
   */
  String summarize(List<String> sources, int maxTokens) {
    List<String> all = new ArrayList<>();
    for (String source : sources) {
      all.addAll(Sentences.split(source));
    }
    if (all.isEmpty()) {
      return "";
    }
    List<Integer> candidates = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      if (Sentences.words(all.get(i)).size() >= MIN_WORDS) {
        candidates.add(i);
      }
    }
    if (candidates.isEmpty()) {
      for (int i = 0; i < all.size(); i++) {
        candidates.add(i);
      }
    }
    int n = candidates.size();
    float[][] v = encoder.embed(candidates.stream().map(all::get).toList());
    float[] centroid = new float[SentenceEncoder.DIMENSIONS];
    for (float[] row : v) {
      for (int d = 0; d < centroid.length; d++) {
        centroid[d] += row[d];
      }
    }
    double[] relevance = new double[n];
    int[] cost = new int[n];
    for (int i = 0; i < n; i++) {
      relevance[i] =
          SentenceEncoder.cosine(v[i], centroid) / n; // scale-free ranking; /n keeps it in [-1, 1]
      cost[i] = tokens.count(all.get(candidates.get(i)));
    }
    normalise(relevance);
    int separatorCost = tokens.count(SEPARATOR);
    double[] redundancy = new double[n]; // max similarity to a picked sentence
    boolean[] used = new boolean[n];
    List<Integer> picked = new ArrayList<>();
    int spent = 0;
    while (true) {
      int best = -1;
      double bestScore = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < n; i++) {
        if (used[i]) {
          continue;
        }
        int extra = cost[i] + (picked.isEmpty() ? 0 : separatorCost);
        if (spent + extra > maxTokens) {
          continue; // too long for what is left; a shorter one may still fit
        }
        double score =
            LAMBDA * relevance[i] - (1 - LAMBDA) * (picked.isEmpty() ? 0 : redundancy[i]);
        if (score > bestScore) { // strict: ties go to the earlier sentence
          bestScore = score;
          best = i;
        }
      }
      if (best < 0) {
        break;
      }
      used[best] = true;
      spent += cost[best] + (picked.isEmpty() ? 0 : separatorCost);
      picked.add(best);
      for (int i = 0; i < n; i++) {
        if (!used[i]) {
          redundancy[i] =
              Math.max(
                  picked.size() == 1 ? -1 : redundancy[i], SentenceEncoder.cosine(v[i], v[best]));
        }
      }
    }
    if (picked.isEmpty()) {
      return truncate(all.get(candidates.get(argmax(relevance))), maxTokens);
    }
    // Token counts of a join can differ from the sum of the parts: check the real text, drop the
    // last picks if needed.
    while (true) {
      TreeSet<Integer> inOrder = new TreeSet<>();
      picked.forEach(i -> inOrder.add(candidates.get(i)));
      String text = String.join(SEPARATOR, inOrder.stream().map(all::get).toList());
      if (tokens.count(text) <= maxTokens || picked.size() == 1) {
        return tokens.count(text) <= maxTokens ? text : truncate(text, maxTokens);
      }
      picked.remove(picked.size() - 1);
    }
  }

  /** The first sentences in order, as many as fit (the lead baseline, for comparisons). */
  static String lead(List<String> sources, int maxTokens, TokenCounter tokens) {
    List<String> out = new ArrayList<>();
    for (String source : sources) {
      for (String s : Sentences.split(source)) {
        out.add(s);
        if (tokens.count(String.join(SEPARATOR, out)) > maxTokens) {
          out.remove(out.size() - 1);
          return String.join(SEPARATOR, out);
        }
      }
    }
    return String.join(SEPARATOR, out);
  }

  /** A prefix of {@code text} of at most {@code maxTokens} tokens, cut on a token boundary. */
  private String truncate(String text, int maxTokens) {
    int[] ends = tokens.tokenEnds(text);
    byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    int bytes = ends == null ? 0 : ends[Math.min(maxTokens, ends.length) - 1];
    if (ends == null) {
      String cut = text.substring(0, Math.min(text.length(), maxTokens * 3));
      while (!cut.isEmpty() && tokens.count(cut) > maxTokens) {
        cut = cut.substring(0, cut.length() - 1);
      }
      return cut;
    }
    String cut = new String(Arrays.copyOf(utf8, bytes), java.nio.charset.StandardCharsets.UTF_8);
    while (!cut.isEmpty() && (tokens.count(cut) > maxTokens || cut.endsWith("\uFFFD"))) {
      cut = cut.substring(0, cut.length() - 1);
    }
    return cut.strip();
  }

  private static void normalise(double[] x) {
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (double d : x) {
      min = Math.min(min, d);
      max = Math.max(max, d);
    }
    for (int i = 0; i < x.length; i++) {
      x[i] = max > min ? (x[i] - min) / (max - min) : 1;
    }
  }

  private static int argmax(double[] x) {
    int best = 0;
    for (int i = 1; i < x.length; i++) {
      if (x[i] > x[best]) {
        best = i;
      }
    }
    return best;
  }
}
