package dev.llmstreams.llm.offline;

import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into sentences (lines first, then {@link BreakIterator}) and finds the fenced source
 * blocks.
 */
final class Sentences {
  /**
   * Blocks a requester fences as data: {@code <document>…</document>}, and the same for summaries
   * of merges.
   */
  private static final Pattern FENCED =
      Pattern.compile(
          "<(document|summary|synthesis|chunk|text|transcript)(?:\\s[^>]*)?>(.*?)</\\1>",
          Pattern.DOTALL | Pattern.CASE_INSENSITIVE);

  private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}]+");

  private Sentences() {}

  /** The contents of every fenced block in {@code text}, in order; empty when there is none. */
  static List<String> fencedBlocks(String text) {
    List<String> out = new ArrayList<>();
    Matcher m = FENCED.matcher(text);
    while (m.find()) {
      out.add(m.group(2));
    }
    return out;
  }

  /** The sentences of {@code text}, trimmed, in order; a newline always ends a sentence. */
  static List<String> split(String text) {
    List<String> out = new ArrayList<>();
    BreakIterator it = BreakIterator.getSentenceInstance(Locale.ENGLISH);
    for (String line : text.split("\\R")) {
      it.setText(line);
      int start = it.first();
      for (int end = it.next(); end != BreakIterator.DONE; start = end, end = it.next()) {
        String s = line.substring(start, end).strip();
        if (!s.isEmpty()) {
          out.add(s);
        }
      }
    }
    return out;
  }

  /** Words (letters and digits), lower-cased. */
  static List<String> words(String text) {
    List<String> out = new ArrayList<>();
    Matcher m = WORD.matcher(text.toLowerCase(Locale.ROOT));
    while (m.find()) {
      out.add(m.group());
    }
    return out;
  }
}
