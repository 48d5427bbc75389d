package dev.llmstreams.llm.offline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fills a tool's arguments from the user's text, property by property from the tool's JSON Schema,
 * by type and name. {@link Filled#evidence()} says how many properties got a value really found in
 * the text (a number, a URL, an arithmetic expression) rather than a fallback; tool choice rewards
 * it.
 */
final class ArgumentExtractor {
  private static final Pattern URL =
      Pattern.compile("https?://[^\\s<>\"')\\]]+[^\\s<>\"')\\].,;:!?]");
  private static final Pattern NUMBER =
      Pattern.compile("(?<![\\w.])[-+]?\\d+(?:[.,]\\d+)*(?:\\.\\d+)?(?![\\w])");

  /**
   * A run of numbers, operators, brackets and spaces with at least one operator between operands.
   */
  private static final Pattern EXPRESSION =
      Pattern.compile(
          "[-+(]*\\s*\\(*\\s*\\d+(?:\\.\\d+)?\\s*\\)*(?:\\s*(?:\\*\\*|[-+*/^%×÷x])\\s*[-+]?\\s*\\(*\\s*\\d+(?:\\.\\d+)?\\s*\\)*)+");

  /** A number in a worded operation. */
  private static final String N = "(-?\\d+(?:\\.\\d+)?)";

  /** Between an operand that ends ({@code 7}, {@code )}) and one that starts. */
  private static final String AFTER = "(?<=[\\d)])";

  private static final String BEFORE = "(?=[-(]?\\s*\\d)";

  /**
   * Arithmetic in words, rewritten with the calculator's operators before an expression is looked
   * for: "17 times 23", "add 2 and 40", "subtract 3 from 10", "3 × 4". Operations named by a verb
   * or a noun come first (bracketed, so they combine with what surrounds them), then the infix
   * words, which must stand between two operands ("3 times a day" is left alone).
   */
  private static final List<Map.Entry<Pattern, String>> WORDED =
      List.of(
          worded("\\b(?:add|(?:the )?sum of)\\s+" + N + "\\s+(?:and|to|plus)\\s+" + N, "($1 + $2)"),
          worded("\\bsubtract\\s+" + N + "\\s+from\\s+" + N, "($2 - $1)"),
          worded("\\b(?:the )?difference (?:between|of)\\s+" + N + "\\s+and\\s+" + N, "($1 - $2)"),
          worded(
              "\\b(?:multiply|(?:the )?product of)\\s+" + N + "\\s+(?:by|and|with)\\s+" + N,
              "($1 * $2)"),
          worded("\\bdivide\\s+" + N + "\\s+by\\s+" + N, "($1 / $2)"),
          worded("\\b(?:the )?quotient of\\s+" + N + "\\s+and\\s+" + N, "($1 / $2)"),
          worded(AFTER + "\\s*(?:multiplied by|times|[x×])\\s*" + BEFORE, " * "),
          worded(AFTER + "\\s*(?:divided by|÷)\\s*" + BEFORE, " / "),
          worded(AFTER + "\\s+plus\\s+" + BEFORE, " + "),
          worded(AFTER + "\\s+minus\\s+" + BEFORE, " - "),
          worded(AFTER + "\\s+(?:to the power of|raised to(?: the power of)?)\\s+" + BEFORE, " ^ "),
          worded(AFTER + "\\s+(?:mod|modulo)\\s+" + BEFORE, " % "));

  private static Map.Entry<Pattern, String> worded(String regex, String replacement) {
    return Map.entry(Pattern.compile(regex, Pattern.CASE_INSENSITIVE), replacement);
  }

  private static final Pattern QUOTED = Pattern.compile("[\"“'`]([^\"”'`]{1,200})[\"”'`]");
  private static final Pattern IDENTIFIER =
      Pattern.compile("\\b[\\p{L}\\p{N}]+(?:[-_/.:][\\p{L}\\p{N}]+)+\\b");
  private static final Pattern YES = Pattern.compile("\\b(yes|true)\\b", Pattern.CASE_INSENSITIVE);
  private static final Set<String> EXPRESSION_NAMES =
      Set.of("expression", "expr", "formula", "equation");
  private static final Set<String> KEY_NAMES = Set.of("key", "id", "name", "identifier");

  record Filled(ObjectNode arguments, int evidence, int required) {}

  /** Picks an enum value for the text; supplied by the engine (embedding similarity). */
  interface EnumChooser {
    String choose(String text, List<String> values);
  }

  private ArgumentExtractor() {}

  static Filled fill(JsonNode schema, String text, EnumChooser enums) {
    ObjectNode args = JsonNodeFactory.instance.objectNode();
    JsonNode properties = schema.path("properties");
    Set<String> required = new HashSet<>();
    schema.path("required").forEach(r -> required.add(r.asText()));
    int evidence = 0;
    List<String> numbers = numbers(text);
    int nextNumber = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = properties.properties().iterator();
        it.hasNext(); ) {
      Map.Entry<String, JsonNode> p = it.next();
      String name = p.getKey();
      JsonNode prop = p.getValue();
      String lower = name.toLowerCase(Locale.ROOT);
      boolean isRequired = required.contains(name);
      String type = prop.path("type").asText(prop.has("enum") ? "enum" : "string");
      if (prop.has("enum") && prop.get("enum").isArray() && prop.get("enum").size() > 0) {
        List<String> values = new ArrayList<>();
        prop.get("enum").forEach(v -> values.add(v.asText()));
        args.put(name, enums.choose(text, values));
        evidence++;
        continue;
      }
      switch (type) {
        case "number", "integer" -> {
          if (nextNumber < numbers.size()) {
            BigDecimal value = new BigDecimal(numbers.get(nextNumber++).replace(",", ""));
            if (type.equals("integer")) {
              args.put(name, value.toBigInteger());
            } else {
              args.put(name, value);
            }
            evidence++;
          } else if (isRequired) {
            args.set(
                name,
                prop.has("default")
                    ? prop.get("default")
                    : prop.has("minimum")
                        ? prop.get("minimum")
                        : JsonNodeFactory.instance.numberNode(0));
          }
        }
        case "boolean" -> {
          if (isRequired || YES.matcher(text).find()) {
            args.put(name, YES.matcher(text).find());
          }
        }
        case "string" -> {
          String value = null;
          if (EXPRESSION_NAMES.contains(lower)) {
            value = expression(text);
          } else if (lower.contains("url") || lower.equals("uri") || lower.equals("link")) {
            Matcher m = URL.matcher(text);
            value = m.find() ? m.group() : null;
          } else if (KEY_NAMES.contains(lower) || lower.endsWith("key") || lower.endsWith("id")) {
            value = key(text);
          }
          if (value != null) {
            evidence++;
          } else if (isRequired
              || lower.equals("query")
              || lower.equals("text")
              || lower.equals("q")) {
            value = text.strip(); // expression/url not found, or a free-text field: the user's own
            // words
          }
          if (value != null) {
            int maxLength = prop.path("maxLength").asInt(Integer.MAX_VALUE);
            args.put(name, value.length() > maxLength ? value.substring(0, maxLength) : value);
          }
        }
        default -> {
          if (isRequired && prop.has("default")) {
            args.set(name, prop.get("default"));
          }
        }
      }
    }
    return new Filled(
        args, evidence, Math.max(1, required.isEmpty() ? properties.size() : required.size()));
  }

  /**
   * The longest arithmetic expression in the text, with arithmetic in words rewritten ({@link
   * #WORDED}), trimmed to balanced brackets; null when there is none.
   */
  static String expression(String text) {
    for (Map.Entry<Pattern, String> w : WORDED) {
      text = w.getKey().matcher(text).replaceAll(w.getValue());
    }
    Matcher m = EXPRESSION.matcher(text);
    String best = null;
    while (m.find()) {
      String e = balance(m.group().strip());
      if (!e.isEmpty() && (best == null || e.length() > best.length())) {
        best = e;
      }
    }
    return best;
  }

  /** Drops unmatched closing brackets at the end and unmatched opening ones at the start. */
  private static String balance(String e) {
    int depth = 0;
    for (char c : e.toCharArray()) {
      depth += c == '(' ? 1 : c == ')' ? -1 : 0;
    }
    while (depth < 0 && e.endsWith(")")) {
      e = e.substring(0, e.length() - 1).strip();
      depth++;
    }
    while (depth > 0 && e.startsWith("(")) {
      e = e.substring(1).strip();
      depth--;
    }
    return e;
  }

  private static String key(String text) {
    Matcher q = QUOTED.matcher(text);
    if (q.find()) {
      return q.group(1).strip();
    }
    Matcher id = IDENTIFIER.matcher(text);
    return id.find() ? id.group() : null;
  }

  static List<String> numbers(String text) {
    List<String> out = new ArrayList<>();
    Matcher m = NUMBER.matcher(URL.matcher(text).replaceAll(" "));
    while (m.find()) {
      out.add(m.group());
    }
    return out;
  }
}
