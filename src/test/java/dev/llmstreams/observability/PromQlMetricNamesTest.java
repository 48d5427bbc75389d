package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PromQlMetricNamesTest {
  @Test
  void shouldFindABareSelectorAndSkipItsLabelMatchers() {
    assertThat(PromQlMetricNames.of("up{job=\"llm-streams\", instance=~\"app.*\"} == 0"))
        .containsExactly("up");
  }

  @Test
  void shouldSkipFunctionsAggregationsAndTheirLabelLists() {
    assertThat(
            PromQlMetricNames.of(
                "histogram_quantile(0.95, sum by (le, provider) (rate(llmstreams_llm_latency_seconds_bucket[5m])))"))
        .containsExactly("llmstreams_llm_latency_seconds_bucket");
    assertThat(
            PromQlMetricNames.of(
                "sum(rate(a_total[5m])) without (instance, job) / ignoring(status) b"))
        .containsExactly("a_total", "b");
    assertThat(PromQlMetricNames.of("topk(5, count_values(\"v\", build_info))"))
        .containsExactly("build_info");
  }

  @Test
  void shouldSkipKeywordsOffsetsSubqueriesAndNumbers() {
    assertThat(
            PromQlMetricNames.of(
                "max_over_time((llmstreams_llm_circuit_state == bool 1)[5m:15s]) == 1 "
                    + "and x_total offset 10m unless y > 1e-3 or z @ end() > 0x1F and w < .5"))
        .containsExactly("llmstreams_llm_circuit_state", "x_total", "y", "z", "w");
  }

  @Test
  void shouldKeepRecordingRuleNamesWithColons() {
    assertThat(
            PromQlMetricNames.of(
                "llmstreams:consumer_lag_records:max > 1000 and deriv(llmstreams:consumer_lag_records:max[10m]) > 0"))
        .containsExactly("llmstreams:consumer_lag_records:max");
  }

  @Test
  void shouldReadGroupModifiersAsLabelListsAndVectorMatchingWithoutThem() {
    assertThat(
            PromQlMetricNames.of(
                "a * on (pattern) group_left (client_id) b + c * on(x) group_left d"))
        .containsExactly("a", "b", "c", "d");
  }

  @Test
  void shouldIgnoreStringsCommentsAndGrafanaVariables() {
    assertThat(
            PromQlMetricNames.of(
                "label_replace(rate(a_total{pattern=~\"$pattern\"}[$__rate_interval]), \"dst\", \"$1 not_a_metric\", \"src\", \"(.*)\")"
                    + " # trailing_comment_metric\n * ${factor} + $scale"))
        .containsExactly("a_total");
  }

  @Test
  void shouldReadNameMatchersInsideBraces() {
    assertThat(
            PromQlMetricNames.of("count({__name__=\"jvm_threads_live_threads\", area=\"heap\"})"))
        .containsExactly("jvm_threads_live_threads");
  }

  @Test
  void shouldReadOnlyTheSelectorOfAGrafanaLabelValuesQuery() {
    assertThat(
            PromQlMetricNames.ofVariableQuery(
                "label_values(kafka_stream_client_state{job=\"x\"}, pattern)"))
        .containsExactly("kafka_stream_client_state");
    assertThat(
            PromQlMetricNames.ofVariableQuery(
                "query_result(max by (pattern) (kafka_stream_alive_stream_threads))"))
        .containsExactly("kafka_stream_alive_stream_threads");
  }

  @Test
  void shouldRefuseAnUnbalancedExpression() {
    assertThatThrownBy(() -> PromQlMetricNames.of("rate(a[5m"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unbalanced");
  }
}
