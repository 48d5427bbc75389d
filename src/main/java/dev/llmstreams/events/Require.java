package dev.llmstreams.events;

import java.util.List;
import java.util.Map;

/**
 * Checks of record components; each message names the field, so a bad record read from a topic says
 * what is wrong.
 */
final class Require {
  private Require() {}

  static <T> T present(T value, String field) {
    if (value == null) {
      throw new IllegalArgumentException("field \"" + field + "\" is required");
    }
    return value;
  }

  static String text(String value, String field) {
    present(value, field);
    if (value.isBlank()) {
      throw new IllegalArgumentException("field \"" + field + "\" must not be blank");
    }
    return value;
  }

  /** Null stays null (absent); a present value must not be blank. */
  static String optionalText(String value, String field) {
    return value == null ? null : text(value, field);
  }

  /** Null becomes the empty list (absent); null elements are rejected; the result is immutable. */
  static <T> List<T> list(List<T> value, String field) {
    if (value == null) {
      return List.of();
    }
    for (T element : value) {
      if (element == null) {
        throw new IllegalArgumentException("field \"" + field + "\" must not contain null");
      }
    }
    return List.copyOf(value);
  }

  static <T> List<T> nonEmptyList(List<T> value, String field) {
    List<T> list = list(present(value, field), field);
    if (list.isEmpty()) {
      throw new IllegalArgumentException("field \"" + field + "\" must not be empty");
    }
    return list;
  }

  /**
   * Null becomes the empty map (absent); null keys or values are rejected; the result is immutable.
   */
  static Map<String, String> map(Map<String, String> value, String field) {
    if (value == null) {
      return Map.of();
    }
    value.forEach(
        (k, v) -> {
          if (k == null || v == null) {
            throw new IllegalArgumentException(
                "field \"" + field + "\" must not contain null keys or values");
          }
        });
    return Map.copyOf(value);
  }

  static int atLeast(int value, int min, String field) {
    if (value < min) {
      throw new IllegalArgumentException(
          "field \"" + field + "\" must be >= " + min + " but was " + value);
    }
    return value;
  }

  static long atLeast(long value, long min, String field) {
    if (value < min) {
      throw new IllegalArgumentException(
          "field \"" + field + "\" must be >= " + min + " but was " + value);
    }
    return value;
  }

  static Integer atLeast(Integer value, int min, String field) {
    return value == null ? null : atLeast(value.intValue(), min, field);
  }

  static Long atLeast(Long value, long min, String field) {
    return value == null ? null : atLeast(value.longValue(), min, field);
  }

  /** Finite and within [min, max]; NaN and infinities are rejected. */
  static double between(double value, double min, double max, String field) {
    if (!(value >= min && value <= max)) {
      throw new IllegalArgumentException(
          "field \"" + field + "\" must be between " + min + " and " + max + " but was " + value);
    }
    return value;
  }

  static Double between(Double value, double min, double max, String field) {
    return value == null ? null : between(value.doubleValue(), min, max, field);
  }

  static double nonNegative(double value, String field) {
    return between(value, 0.0, Double.MAX_VALUE, field);
  }

  static Double nonNegative(Double value, String field) {
    return value == null ? null : nonNegative(value.doubleValue(), field);
  }

  static String sha256Hex(String value, String field) {
    text(value, field);
    if (!value.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException(
          "field \"" + field + "\" must be 64 lower-case hex digits (sha-256)");
    }
    return value;
  }

  /**
   * An LLM's answer: content and/or tool calls, or an error when it gave up; never both. {@code
   * toolCalls} is already non-null.
   */
  static void answerOrError(String content, List<?> toolCalls, Object error) {
    boolean answered = content != null || !toolCalls.isEmpty();
    check(answered || error != null, "field \"content\", \"toolCalls\" or \"error\" is required");
    check(
        !(answered && error != null),
        "field \"error\" must be absent when content or toolCalls are present");
  }

  static void check(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }
}
