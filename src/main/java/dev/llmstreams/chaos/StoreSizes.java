package dev.llmstreams.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * State store sizes over a chaos run, from the gauge {@code llmstreams_store_entries{store="..."}}
 * on each instance's {@code /metrics}: one series per store of [seconds since start, entries summed
 * over the live instances].
 */
final class StoreSizes {
  static final String GAUGE = "llmstreams_store_entries";
  private static final Pattern SAMPLE =
      Pattern.compile("^" + GAUGE + "\\{([^}]*)\\}\\s+([-+0-9.eE]+|NaN)\\s*$", Pattern.MULTILINE);
  private static final Pattern STORE_LABEL =
      Pattern.compile("(?:^|,)store=\"((?:[^\"\\\\]|\\\\.)*)\"");

  private final Map<String, List<double[]>> series = new TreeMap<>();
  private int samplesWithGauge;

  /**
   * Entries per store in one instance's Prometheus text (summed over the gauge's other labels, e.g.
   * task).
   */
  static Map<String, Double> parse(String prometheusText) {
    Map<String, Double> out = new TreeMap<>();
    Matcher m = SAMPLE.matcher(prometheusText);
    while (m.find()) {
      Matcher store = STORE_LABEL.matcher(m.group(1));
      if (!store.find() || m.group(2).equals("NaN")) {
        continue;
      }
      out.merge(store.group(1), Double.parseDouble(m.group(2)), Double::sum);
    }
    return out;
  }

  /** Adds one sample time: the parsed gauges of every instance that answered. */
  synchronized void add(double seconds, List<Map<String, Double>> instances) {
    Map<String, Double> total = new TreeMap<>();
    for (Map<String, Double> instance : instances) {
      instance.forEach((store, n) -> total.merge(store, n, Double::sum));
    }
    if (!total.isEmpty()) {
      samplesWithGauge++;
    }
    total.forEach(
        (store, n) ->
            series.computeIfAbsent(store, s -> new ArrayList<>()).add(new double[] {seconds, n}));
  }

  synchronized Map<String, List<double[]>> series() {
    Map<String, List<double[]>> copy = new TreeMap<>();
    series.forEach((k, v) -> copy.put(k, List.copyOf(v)));
    return copy;
  }

  synchronized boolean gaugeSeen() {
    return samplesWithGauge > 0;
  }
}
