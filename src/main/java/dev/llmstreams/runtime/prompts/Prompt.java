package dev.llmstreams.runtime.prompts;

import dev.llmstreams.events.PromptRef;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One prompt, as loaded: a system prompt, or a template whose {@code {{name}}} placeholders its
 * code fills ({@link #render}).
 *
 * @param id the prompt's id, dot-case, e.g. {@code controller.system}
 * @param version {@code sha256:} and the first 12 hex digits of the SHA-256 of the file's bytes
 * @param text the file's text (UTF-8) without leading and trailing whitespace
 */
public record Prompt(String id, String version, String text) {
  /** A placeholder: {@code {{name}}}, anything between the braces read as its name. */
  static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{(.*?)}}");

  public Prompt {
    if (id == null || version == null || text == null) {
      throw new IllegalArgumentException("a prompt needs an id, a version and a text");
    }
  }

  /** What LLM requests built from this prompt, and the outputs they lead to, record. */
  public PromptRef ref() {
    return new PromptRef(id, version);
  }

  /** The names of the placeholders in the text, in order of first appearance. */
  public List<String> placeholders() {
    Set<String> names = new LinkedHashSet<>();
    Matcher m = PLACEHOLDER.matcher(text);
    while (m.find()) {
      names.add(m.group(1));
    }
    return new ArrayList<>(names);
  }

  /**
   * The text with each placeholder replaced by its value, in one pass: a value is inserted as it
   * is, never read for placeholders of its own (a document or an event text that says {@code
   * {{labels}}} stays that text).
   *
   * @throws IllegalArgumentException when a placeholder of the text has no value, or a value no
   *     placeholder (a mistake of the code that fills it: the loaded templates were checked)
   */
  public String render(Map<String, String> values) {
    List<String> names = placeholders();
    for (String name : values.keySet()) {
      if (!names.contains(name)) {
        throw new IllegalArgumentException(
            "prompt " + id + " has no placeholder {{" + name + "}}; it has " + names);
      }
    }
    Matcher m = PLACEHOLDER.matcher(text);
    StringBuilder out = new StringBuilder(text.length());
    while (m.find()) {
      String value = values.get(m.group(1));
      if (value == null) {
        throw new IllegalArgumentException(
            "prompt " + id + ": no value for placeholder {{" + m.group(1) + "}}");
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }
}
