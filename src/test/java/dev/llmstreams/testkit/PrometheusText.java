package dev.llmstreams.testkit;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads series out of the Prometheus text format that {@code /metrics} serves. */
public final class PrometheusText {
  private static final Pattern SERIES =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})?\\s+(\\S+)");
  private static final Pattern LABEL =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  private PrometheusText() {}

  /**
   * The sum of every series named {@code name} whose labels include all of {@code labels}; 0 when
   * there is none.
   */
  public static double sum(String text, String name, Map<String, String> labels) {
    double sum = 0;
    for (String line : text.split("\n")) {
      Matcher m = SERIES.matcher(line);
      if (line.startsWith("#") || !m.find() || !m.group(1).equals(name)) {
        continue;
      }
      Map<String, String> found = new HashMap<>();
      Matcher l = LABEL.matcher(m.group(2) == null ? "" : m.group(2));
      while (l.find()) {
        found.put(l.group(1), l.group(2));
      }
      if (found.entrySet().containsAll(labels.entrySet())) {
        double v = Double.parseDouble(m.group(3));
        sum += Double.isNaN(v) ? 0 : v;
      }
    }
    return sum;
  }
}
