package dev.llmstreams.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.SpanRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * {@code --tracing compare}: the same measured phase with tracing off and on, interleaved in rounds
 * (off then on, then on then off, and so on: both meet the same drift of the machine's speed), and
 * the proof that the "on" runs' spans were recorded and shipped over OTLP.
 */
public final class TracingOverhead {
  /** The meter SpanExport counts the spans the OTLP receiver accepted with. */
  static final String EXPORTED_METER = "llmstreams.tracing.spans.exported";

  private TracingOverhead() {}

  /** The order of round {@code round} (0-based): off then on, then the other way round. */
  static List<Boolean> order(int round) {
    return round % 2 == 0 ? List.of(false, true) : List.of(true, false);
  }

  /**
   * One round's throughput with tracing off and on; null for a phase that did not complete (its
   * rate is not a throughput).
   */
  record Round(Double off, Double on, List<Boolean> order) {
    Double ratio() {
      return off == null || on == null || off <= 0 ? null : on / off;
    }
  }

  /**
   * The comparison: each round's rates and ratio on / off, and over the rounds the median rate of
   * each and the median ratio (null when a round lacks one: its phase did not complete).
   *
   * @param unit the rate's name in the report, e.g. {@code goals_per_s}
   */
  static ObjectNode report(List<Round> rounds, String unit) {
    return report(rounds, unit, "off", "on", "tracing_overhead_ratio");
  }

  /**
   * The same for any two apps compared in rounds: {@code off} in a round is the baseline's rate,
   * {@code on} the other app's, and the order's false and true name them.
   *
   * @param base how the report names the baseline (its rates are {@code <base>_<unit>})
   * @param other how it names the other app
   * @param ratioKey the name of other / base
   */
  static ObjectNode report(
      List<Round> rounds, String unit, String base, String other, String ratioKey) {
    if (rounds.isEmpty()) {
      throw new IllegalArgumentException("at least one round to compare");
    }
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    out.put("rounds_count", rounds.size());
    ArrayNode each = out.putArray("rounds");
    List<Double> offs = new ArrayList<>();
    List<Double> ons = new ArrayList<>();
    List<Double> ratios = new ArrayList<>();
    for (int i = 0; i < rounds.size(); i++) {
      Round r = rounds.get(i);
      ObjectNode o = each.addObject().put("round", i + 1);
      r.order().forEach(t -> o.withArray("order").add(t ? other : base));
      putRate(o, base + "_" + unit, r.off());
      putRate(o, other + "_" + unit, r.on());
      putRate(o, ratioKey, r.ratio());
      if (r.off() != null) {
        offs.add(r.off());
      }
      if (r.on() != null) {
        ons.add(r.on());
      }
      if (r.ratio() != null) {
        ratios.add(r.ratio());
      }
    }
    boolean complete = ratios.size() == rounds.size();
    out.put("complete", complete);
    putRate(out, base + "_" + unit, complete ? median(offs) : null);
    putRate(out, other + "_" + unit, complete ? median(ons) : null);
    putRate(out, ratioKey, complete ? median(ratios) : null);
    if (complete) {
      List<Double> sorted = ratios.stream().sorted().toList();
      putRate(out, ratioKey + "_min", sorted.get(0));
      putRate(out, ratioKey + "_max", sorted.get(sorted.size() - 1));
    }
    return out;
  }

  private static void putRate(ObjectNode o, String key, Double value) {
    if (value == null) {
      o.putNull(key);
    } else {
      o.put(key, GatewayBench.round(value));
    }
  }

  static Double median(List<Double> values) {
    if (values.isEmpty()) {
      return null;
    }
    return SpecialistBench.median(values.stream().sorted().toList());
  }

  /** Text for a report's definitions. */
  static String definition(String unit) {
    return "--tracing compare: the measured phase run once per round with tracing off and once with it on,"
        + " each on its own app (own topics and application ids, both started and warmed up before the first"
        + " round, so each waits idle while the other is measured), in the order off, on in odd rounds and on,"
        + " off in even ones. tracing_overhead_ratio = on_"
        + unit
        + " / off_"
        + unit
        + " of the same round (0.95: tracing on is 5% slower), the median over the rounds;"
        + " off_"
        + unit
        + " and on_"
        + unit
        + " are the medians of the rounds' rates. Tracing on: every span written to the spans"
        + " topic in the work's transaction, then shipped by the app's SpanExport over OTLP/HTTP (protobuf) to a"
        + " local receiver that counts and accepts every request";
  }

  /**
   * What proves the spans of the "on" app were recorded and shipped.
   *
   * @param onTopic records on its spans topic (read_committed), warm-up included
   * @param measured those of the measured work (the predicate the bench gives)
   * @param exported its {@code llmstreams.tracing.spans.exported} counter, once it caught up
   */
  record Spans(
      long onTopic,
      long measured,
      long measuredExpected,
      long exported,
      long otlpRequests,
      long otlpBytes) {
    void put(ObjectNode o) {
      o.put("spans_on_topic", onTopic);
      o.put("spans_of_measured_work", measured);
      o.put("spans_of_measured_work_expected", measuredExpected);
      o.put("spans_exported", exported);
      o.put("all_spans_exported", exported >= onTopic);
      o.put("otlp_export_requests", otlpRequests);
      o.put("otlp_bytes_received", otlpBytes);
    }
  }

  /**
   * Counts the spans topic (read_committed), waits until the app's exporter has shipped as many (or
   * the timeout passed), and reads what the sink received.
   */
  static Spans spans(
      BenchCluster cluster,
      String spansTopic,
      Predicate<SpanRecord> measured,
      long measuredExpected,
      MeterRegistry registry,
      OtlpSink sink,
      Progress progress)
      throws InterruptedException {
    long[] counts = new long[2];
    var reader = Json.readerFor(SpanRecord.class);
    cluster.readAll(
        spansTopic,
        r -> {
          counts[0]++;
          try {
            SpanRecord span =
                reader.readValue(
                    Objects.requireNonNullElse(r.value(), "").getBytes(StandardCharsets.UTF_8));
            counts[1] += measured.test(span) ? 1 : 0;
          } catch (java.io.IOException | RuntimeException e) {
            // not a span: counted on the topic, not as measured
          }
        });
    long exported = awaitExported(registry, counts[0], Duration.ofSeconds(60));
    progress.say(
        "tracing on: %d spans on the topic (%d of the measured work, %d expected), %d exported;"
            + " the OTLP receiver got %d requests, %d bytes",
        counts[0], counts[1], measuredExpected, exported, sink.requests(), sink.bytes());
    return new Spans(
        counts[0], counts[1], measuredExpected, exported, sink.requests(), sink.bytes());
  }

  /** The exported-spans counter once it reaches {@code target}, or its value at the timeout. */
  static long awaitExported(MeterRegistry registry, long target, Duration timeout)
      throws InterruptedException {
    long until = System.nanoTime() + timeout.toNanos();
    while (true) {
      Counter c = registry.find(EXPORTED_METER).counter();
      long now = c == null ? 0 : (long) c.count();
      if (now >= target || System.nanoTime() > until) {
        return now;
      }
      Thread.sleep(100);
    }
  }
}
