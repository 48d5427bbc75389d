package dev.llmstreams.chaos;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The app's count of re-routed input records over a chaos run, from {@code
 * llmstreams_records_rerouted_total} on each instance's {@code /metrics}. The counter lives in a
 * JVM, so a kill resets it: this keeps the highest value seen per topic for each start of each
 * instance and sums those. What an instance re-routed between its last sample and its kill is not
 * seen, so the sum is a lower bound; re-routes of a transaction that aborted and ran again count
 * twice.
 */
final class Rerouted {
  static final String COUNTER = "llmstreams_records_rerouted_total";
  private static final Pattern SAMPLE =
      Pattern.compile(
          "^" + COUNTER + "(?:\\{([^}]*)\\})?\\s+([-+0-9.eE]+)(?:\\s|$)", Pattern.MULTILINE);
  private static final Pattern TOPIC_LABEL =
      Pattern.compile("(?:^|,)topic=\"((?:[^\"\\\\]|\\\\.)*)\"");

  /** Per instance start ("a#2"), the highest value seen per topic. */
  private final Map<String, Map<String, Double>> perStart = new HashMap<>();

  /**
   * The counter per topic label in one instance's Prometheus text (summed over its other labels);
   * empty without it.
   */
  static Map<String, Double> parse(String prometheusText) {
    Map<String, Double> out = new TreeMap<>();
    Matcher m = SAMPLE.matcher(prometheusText);
    while (m.find()) {
      Matcher topic = TOPIC_LABEL.matcher(m.group(1) == null ? "" : m.group(1));
      out.merge(topic.find() ? topic.group(1) : "?", Double.parseDouble(m.group(2)), Double::sum);
    }
    return out;
  }

  /**
   * One sample of one start of an instance (name the start before asking for the text: a restart
   * may come between).
   */
  synchronized void add(String start, String prometheusText) {
    Map<String, Double> seen = perStart.computeIfAbsent(start, s -> new HashMap<>());
    parse(prometheusText).forEach((topic, n) -> seen.merge(topic, n, Math::max));
  }

  /** Whether any instance exposed the counter. */
  synchronized boolean seen() {
    return perStart.values().stream().anyMatch(m -> !m.isEmpty());
  }

  /** Per topic, the highest values seen, summed over the instances' starts. */
  synchronized Map<String, Long> perTopic() {
    Map<String, Long> out = new TreeMap<>();
    perStart
        .values()
        .forEach(m -> m.forEach((topic, n) -> out.merge(topic, Math.round(n), Long::sum)));
    return out;
  }

  synchronized long total() {
    return perTopic().values().stream().mapToLong(Long::longValue).sum();
  }
}
