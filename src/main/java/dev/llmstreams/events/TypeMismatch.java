package dev.llmstreams.events;

import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.temporal.Temporal;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A value of the wrong JSON type, said in JSON's words for whoever produced it, from Python, Go or
 * Node as much as Java: {@code field "eventId" must be a string, not a number (9)} rather than
 * Jackson's {@code Cannot coerce Integer value (9) to `java.lang.String` value (but could if
 * coercion was enabled using `CoercionConfig`)}.
 */
final class TypeMismatch {
  /**
   * What Jackson says it found: {@code from Integer value (token ...)}, {@code Cannot coerce String
   * value ("3")}, {@code from String "done":}, {@code Cannot map `null`}; group 2 is the value
   * shown, if any.
   */
  private static final Pattern FOUND =
      Pattern.compile(
          "(?:(?:from|coerce) (Integer|Floating-point|Number|String|Boolean|Object|Array)(?: value)?"
              + "(?: \\((\"(?:[^\"\\\\]|\\\\.)*\"|'[^']*'|[^)]*)\\)| (\"(?:[^\"\\\\]|\\\\.)*\"))?"
              + "|map `(null)`)");

  private static final Pattern MISSING =
      Pattern.compile("Missing required creator property '([^']+)'");
  private static final Pattern ENUM_VALUES =
      Pattern.compile("accepted for Enum class: \\[([^\\]]*)]");
  private static final int MAX_SHOWN = 60;
  static final String TIME =
      "an ISO-8601 time with its offset, such as 2026-01-31T09:00:00Z or 2026-01-31T10:00:00+01:00,"
          + " or epoch milliseconds";

  private TypeMismatch() {}

  /** The problem in JSON's words, or null when this is not a mismatch it knows how to say. */
  static String describe(MismatchedInputException e) {
    String original = String.valueOf(e.getOriginalMessage());
    Matcher missing = MISSING.matcher(original);
    if (missing.find()) {
      return "field \"" + missing.group(1) + "\" is required";
    }
    String expected = expected(e.getTargetType(), original);
    Matcher found = FOUND.matcher(original);
    if (expected == null || !found.find()) {
      return null;
    }
    String shown = found.group(2) != null ? found.group(2) : found.group(3);
    if (shown != null && (shown.isEmpty() || shown.startsWith("token "))) {
      shown = null; // Jackson's token name, not the value
    }
    if (shown != null && shown.length() > 1 && shown.startsWith("'") && shown.endsWith("'")) {
      shown = '"' + shown.substring(1, shown.length() - 1) + '"';
    }
    String what = found.group(4) != null ? "null" : found(found.group(1), expected);
    if (shown != null
        && ("Boolean".equals(found.group(1))
            || ("String".equals(found.group(1)) && expected.startsWith("one of ")))) {
      what = shorten(shown); // "not true", "not \"done\"": the value says what it is
      shown = null;
    }
    if (e.getPath().isEmpty() && expected.equals("an object")) {
      expected = "a JSON object";
    }
    return subject(e.getPath())
        + " must be "
        + expected
        + ", not "
        + what
        + (shown == null ? "" : " (" + shorten(shown) + ")");
  }

  /** What the field holds, in JSON's words. */
  private static String found(String jackson, String expected) {
    return switch (jackson) {
      case "Integer", "Number" -> "a number";
      case "Floating-point" -> expected.equals("an integer") ? "a fraction" : "a number";
      case "String" -> "a string";
      case "Boolean" -> "true or false";
      case "Object" -> "an object";
      case "Array" -> "a list";
      default -> "null";
    };
  }

  /** What the field must hold, in JSON's words; null for a type it has no words for. */
  private static String expected(Class<?> type, String original) {
    if (type == null || type == Object.class || JsonNode.class.isAssignableFrom(type)) {
      return null;
    }
    if (CharSequence.class.isAssignableFrom(type)
        || type == char.class
        || type == Character.class) {
      return "a string";
    }
    if (List.of(int.class, long.class, short.class, byte.class).contains(type)
        || List.of(Integer.class, Long.class, Short.class, Byte.class, BigInteger.class)
            .contains(type)) {
      return "an integer";
    }
    if (type == double.class
        || type == float.class
        || type == Double.class
        || type == Float.class
        || type == BigDecimal.class) {
      return "a number";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "true or false";
    }
    if (type.isEnum()) {
      Matcher values = ENUM_VALUES.matcher(original);
      return values.find() ? "one of " + values.group(1) : null;
    }
    if (Temporal.class.isAssignableFrom(type)) {
      return TIME;
    }
    if (type == Duration.class) {
      return "an ISO-8601 duration such as PT30S";
    }
    if (type.isArray() || Collection.class.isAssignableFrom(type)) {
      return "a list";
    }
    if (Map.class.isAssignableFrom(type) || type.isRecord()) {
      return "an object";
    }
    return null;
  }

  private static String expected(JavaType type, String original) {
    return type == null ? null : expected(type.getRawClass(), original);
  }

  /** Which value: the field named last in the path, an item of it, or the whole value. */
  private static String subject(List<JsonMappingException.Reference> path) {
    if (path.isEmpty()) {
      return "the value";
    }
    JsonMappingException.Reference last = path.get(path.size() - 1);
    if (last.getFieldName() != null) {
      return "field \"" + last.getFieldName() + "\"";
    }
    for (int i = path.size() - 2; i >= 0; i--) {
      if (path.get(i).getFieldName() != null) {
        return "item " + last.getIndex() + " of field \"" + path.get(i).getFieldName() + "\"";
      }
    }
    return "item " + last.getIndex();
  }

  private static String shorten(String shown) {
    return shown.length() <= MAX_SHOWN ? shown : shown.substring(0, MAX_SHOWN) + "...";
  }
}
