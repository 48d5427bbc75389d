package dev.llmstreams.summarizer;

import java.util.regex.Pattern;

/**
 * Text from outside (a document, or a summary an LLM wrote of one) goes to the LLM between tags
 * that the system prompt calls data. A {@code </document>} inside the text would close the fence
 * early and let what follows pose as instructions, so the fence tags inside the text are escaped
 * ({@code <} becomes {@code &lt;}); nothing else changes.
 */
final class Fences {
  /** Every tag a requester fences data with (the offline engine reads the same ones). */
  private static final Pattern FENCE_TAG =
      Pattern.compile(
          "<(\\s*/?\\s*(?:document|summary|synthesis|chunk|text|transcript)\\b)",
          Pattern.CASE_INSENSITIVE);

  private Fences() {}

  /**
   * {@code text} between {@code <tag>} and {@code </tag>}, each on its own line, unable to close
   * the fence.
   */
  static String fence(String tag, String text) {
    return "<" + tag + ">\n" + escapeTags(text) + "\n</" + tag + ">";
  }

  static String escapeTags(String text) {
    return FENCE_TAG.matcher(text).replaceAll("&lt;$1");
  }
}
