package dev.llmstreams.observability;

import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names a PromQL expression reads: every bare selector name and every {@code
 * __name__="…"} matcher, with functions, aggregations, keywords, label names, strings, numbers,
 * durations and Grafana variables left out.
 */
final class PromQlMetricNames {
  private static final Set<String> KEYWORDS =
      Set.of(
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "bool",
          "offset",
          "and",
          "or",
          "unless",
          "atan2",
          "inf",
          "nan",
          // aggregations may be followed by a by/without clause instead of "(", e.g. "sum by (le)
          // (…)"
          "sum",
          "min",
          "max",
          "avg",
          "group",
          "stddev",
          "stdvar",
          "count",
          "count_values",
          "bottomk",
          "topk",
          "quantile",
          "limitk",
          "limit_ratio");
  // Their "(…)" holds label names, not expressions.
  private static final Set<String> LABEL_LIST_KEYWORDS =
      Set.of("by", "without", "on", "ignoring", "group_left", "group_right");
  private static final Pattern NAME_MATCHER =
      Pattern.compile("__name__\\s*=\\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"");
  private static final Pattern LABEL_VALUES =
      Pattern.compile(
          "^\\s*label_values\\((.*),\\s*[a-zA-Z_][a-zA-Z0-9_]*\\s*\\)\\s*$", Pattern.DOTALL);

  private PromQlMetricNames() {}

  /** The metric names read by a PromQL expression, in order of first use. */
  static Set<String> of(String expr) {
    Set<String> names = new LinkedHashSet<>();
    int i = 0;
    int n = expr.length();
    boolean labelList = false;
    while (i < n) {
      char c = expr.charAt(i);
      if (c == '"' || c == '\'' || c == '`') {
        i = skipString(expr, i);
      } else if (c == '#') {
        i = skipTo(expr, i, '\n');
      } else if (c == '{') {
        int end = skipBalanced(expr, i, '{', '}');
        Matcher m = NAME_MATCHER.matcher(expr.substring(i, end));
        while (m.find()) {
          names.add(m.group(1));
        }
        i = end;
      } else if (c == '[') {
        i =
            skipBalanced(
                expr, i, '[',
                ']'); // ranges and subqueries: durations and Grafana's $__rate_interval
      } else if (c == '(' && labelList) {
        i = skipBalanced(expr, i, '(', ')');
        labelList = false;
      } else if (c == '$') {
        i = skipVariable(expr, i);
      } else if (Character.isDigit(c)
          || (c == '.' && i + 1 < n && Character.isDigit(expr.charAt(i + 1)))) {
        i = skipNumber(expr, i); // also durations (5m, 1h30m) and hex
      } else if (isNameStart(c)) {
        int end = i;
        while (end < n && isNamePart(expr.charAt(end))) {
          end++;
        }
        String word = expr.substring(i, end);
        String lower = word.toLowerCase(Locale.ROOT);
        int next = skipSpace(expr, end);
        boolean call = next < n && expr.charAt(next) == '(';
        labelList = LABEL_LIST_KEYWORDS.contains(lower);
        if (!labelList && !KEYWORDS.contains(lower) && !call) {
          names.add(word);
        }
        i = end;
      } else {
        if (!Character.isWhitespace(c)) {
          labelList = false; // group_left without a label list, e.g. "* on (a) group_left x"
        }
        i++;
      }
    }
    return names;
  }

  /**
   * The metric names of a Grafana variable query: {@code label_values(selector, label)} reads only
   * the selector.
   */
  static Set<String> ofVariableQuery(String query) {
    Matcher m = LABEL_VALUES.matcher(query);
    return of(m.matches() ? m.group(1) : query);
  }

  private static boolean isNameStart(char c) {
    return Character.isLetter(c) || c == '_' || c == ':';
  }

  private static boolean isNamePart(char c) {
    return isNameStart(c) || Character.isDigit(c);
  }

  private static int skipSpace(String s, int i) {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  private static int skipTo(String s, int i, char end) {
    int at = s.indexOf(end, i);
    return at < 0 ? s.length() : at + 1;
  }

  private static int skipString(String s, int i) {
    char quote = s.charAt(i);
    int j = i + 1;
    while (j < s.length() && s.charAt(j) != quote) {
      j += s.charAt(j) == '\\' && quote != '`' ? 2 : 1;
    }
    return Math.min(j + 1, s.length());
  }

  /** Past the bracket that closes the one at {@code i}, strings inside included. */
  private static int skipBalanced(String s, int i, char open, char close) {
    int depth = 0;
    int j = i;
    while (j < s.length()) {
      char c = s.charAt(j);
      if (c == '"' || c == '\'' || c == '`') {
        j = skipString(s, j);
        continue;
      }
      if (c == open) {
        depth++;
      } else if (c == close && --depth == 0) {
        return j + 1;
      }
      j++;
    }
    throw new IllegalArgumentException("unbalanced '" + open + "' at " + i + " in: " + s);
  }

  private static int skipVariable(String s, int i) {
    if (i + 1 < s.length() && s.charAt(i + 1) == '{') {
      return skipBalanced(s, i + 1, '{', '}');
    }
    int j = i + 1;
    while (j < s.length() && isNamePart(s.charAt(j))) {
      j++;
    }
    return j;
  }

  private static int skipNumber(String s, int i) {
    int j = i;
    while (j < s.length()) {
      char c = s.charAt(j);
      boolean exponentSign =
          (c == '+' || c == '-')
              && (s.charAt(j - 1) == 'e' || s.charAt(j - 1) == 'E')
              && !s.substring(i, j).toLowerCase(Locale.ROOT).startsWith("0x");
      if (!(Character.isLetterOrDigit(c) || c == '.' || c == '_' || exponentSign)) {
        break;
      }
      j++;
    }
    return j;
  }
}
