package dev.llmstreams.observability.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.observability.Observability;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Latency histograms carry the trace id of the span they were recorded for. */
class ExemplarTest {
  @Test
  void shouldServeTheTraceIdAsAnExemplarInOpenMetricsOnly() {
    try (Observability observability = new Observability()) {
      Timer timer =
          Timer.builder("llmstreams.controller.goal.duration")
              .tag("status", "succeeded")
              .publishPercentileHistogram()
              .register(observability.registry());
      SpanRef span =
          new SpanRef("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, true, null, 0);
      CurrentSpan.set(span);
      try {
        timer.record(Duration.ofMillis(1500));
      } finally {
        CurrentSpan.clear();
      }
      timer.record(Duration.ofMillis(20)); // no span: no exemplar for this one

      String openMetrics = observability.scrape("application/openmetrics-text; version=1.0.0");
      assertThat(openMetrics)
          .contains("llmstreams_controller_goal_duration_seconds_bucket")
          .contains("trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"")
          .contains("span_id=\"00f067aa0ba902b7\"");
      // On the buckets only, not on _count: Prometheus before 2.43 (Debian 12's) drops the whole
      // scrape for an exemplar there, for as long as the exemplar is served.
      assertThat(openMetrics.lines().filter(line -> line.contains("trace_id=")))
          .isNotEmpty()
          .allSatisfy(
              line ->
                  assertThat(line)
                      .startsWith("llmstreams_controller_goal_duration_seconds_bucket{"));
      assertThat(Observability.contentType("application/openmetrics-text"))
          .startsWith("application/openmetrics-text");
      assertThat(observability.scrape("text/plain")).doesNotContain("trace_id=");
      assertThat(Observability.contentType(null)).startsWith("text/plain; version=0.0.4");
    }
  }

  @Test
  void shouldGiveNoExemplarForAnUnsampledSpan() {
    try (Observability observability = new Observability()) {
      Timer timer =
          Timer.builder("t").publishPercentileHistogram().register(observability.registry());
      CurrentSpan.set(
          new SpanRef(
              "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, false, null, 0));
      try {
        timer.record(Duration.ofMillis(5));
      } finally {
        CurrentSpan.clear();
      }
      assertThat(observability.scrape("application/openmetrics-text")).doesNotContain("trace_id=");
    }
  }
}
