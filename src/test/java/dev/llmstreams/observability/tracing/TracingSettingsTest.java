package dev.llmstreams.observability.tracing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.SpanRecord;
import io.opentelemetry.api.trace.SpanKind;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class TracingSettingsTest {
  private static TracingSettings settings(String enabled, Map<String, String> env) {
    return TracingSettings.of(
        AppConfig.of(Map.of(AppConfig.TRACING_ENABLED, enabled)),
        TracingSettings.otel(env, new Properties()));
  }

  @Test
  void shouldBeOffUnlessAnExporterIsConfigured() {
    assertThat(settings("auto", Map.of()).recording()).isFalse();
    assertThat(settings("auto", Map.of("OTEL_TRACES_EXPORTER", "none")).recording()).isFalse();
    assertThat(settings("auto", Map.of("OTEL_TRACES_EXPORTER", "otlp")).recording()).isTrue();
    assertThat(
            settings("auto", Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://tempo:4318"))
                .recording())
        .isTrue();
    assertThat(
            settings(
                    "auto", Map.of("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/v1/traces"))
                .recording())
        .isTrue();
    assertThat(
            settings(
                    "auto",
                    Map.of(
                        "OTEL_EXPORTER_OTLP_ENDPOINT", "http://tempo:4318",
                        "OTEL_SDK_DISABLED", "true"))
                .recording())
        .isFalse();
    assertThat(settings("true", Map.of()).recording()).isTrue();
    assertThat(settings("false", Map.of("OTEL_TRACES_EXPORTER", "otlp")).recording()).isFalse();
  }

  @Test
  void shouldPreferTheSystemPropertyOverTheEnvironmentAsTheSdkDoes() {
    Properties props = new Properties();
    props.setProperty("otel.traces.exporter", "none");
    var otel = TracingSettings.otel(Map.of("OTEL_TRACES_EXPORTER", "otlp"), props);
    assertThat(otel.apply("otel.traces.exporter")).isEqualTo("none");
    assertThat(TracingSettings.exporterConfigured(otel)).isFalse();
  }

  @Test
  void shouldSampleAsOtelTracesSamplerSays() {
    Tracing never = settings("true", Map.of("OTEL_TRACES_SAMPLER", "always_off")).forService("s");
    assertThat(never.start(new RecordHeaders(), "x", SpanKind.INTERNAL, 0).sampled()).isFalse();
    Tracing half =
        settings(
                "true",
                Map.of("OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "0.5"))
            .forService("s");
    long sampled = 0;
    for (int i = 0; i < 2000; i++) {
      sampled += half.start(new RecordHeaders(), "x", SpanKind.INTERNAL, 0).sampled() ? 1 : 0;
    }
    assertThat(sampled).isBetween(800L, 1200L);
    assertThatThrownBy(() -> settings("true", Map.of("OTEL_TRACES_SAMPLER", "sometimes")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown sampler");
    assertThatThrownBy(
            () ->
                settings(
                    "true",
                    Map.of("OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "2")))
        .hasMessageContaining("between 0 and 1");
  }

  @Test
  void shouldReadAndWriteW3cHeadersAndRefuseMalformedOnes() {
    Tracing tracing =
        Tracing.recording("svc", io.opentelemetry.sdk.trace.samplers.Sampler.alwaysOn(), false);
    RecordHeaders in = new RecordHeaders();
    in.add(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".getBytes(StandardCharsets.UTF_8));
    in.add("tracestate", "congo=t61rcWkgMzE".getBytes(StandardCharsets.UTF_8));
    SpanRef span = tracing.start(in, "work", SpanKind.INTERNAL, 1_000);
    assertThat(span.traceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    assertThat(span.parentSpanId()).isEqualTo("00f067aa0ba902b7");
    assertThat(span.traceState()).isEqualTo("congo=t61rcWkgMzE");
    RecordHeaders out = new RecordHeaders();
    out.add("traceparent", "stale".getBytes(StandardCharsets.UTF_8));
    TraceHeaders.write(out, span);
    assertThat(out.headers("traceparent")).hasSize(1);
    assertThat(new String(out.lastHeader("traceparent").value(), StandardCharsets.UTF_8))
        .isEqualTo(span.traceparent());
    assertThat(new String(out.lastHeader("tracestate").value(), StandardCharsets.UTF_8))
        .isEqualTo("congo=t61rcWkgMzE");

    for (String bad :
        new String[] {
          "garbage",
          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
          "x".repeat(10_000)
        }) {
      RecordHeaders h = new RecordHeaders();
      h.add("traceparent", bad.getBytes(StandardCharsets.UTF_8));
      assertThat(TraceHeaders.read(h).isValid()).as(bad).isFalse();
      SpanRef root = tracing.start(h, "work", SpanKind.INTERNAL, 0);
      assertThat(root.parentSpanId()).as("a new trace for %s", bad).isNull();
    }
  }

  @Test
  void shouldTurnARecordedSpanIntoSdkSpanData() throws Exception {
    Tracing tracing =
        Tracing.recording("svc", io.opentelemetry.sdk.trace.samplers.Sampler.alwaysOn(), false);
    SpanRef parent = tracing.start(new RecordHeaders(), "p", SpanKind.INTERNAL, 5);
    SpanRef other = tracing.start(new RecordHeaders(), "o", SpanKind.INTERNAL, 5);
    SpanRef child = tracing.child(parent, 10);
    SpanRecord record =
        tracing
            .span(child, "merge_summaries", SpanKind.INTERNAL)
            .attr("n", 3)
            .attr("ok", true)
            .attr("ratio", 0.5)
            .attr("list", java.util.List.of("a", "b"))
            .link(other)
            .error("timeout", "too slow")
            .end(20)
            .orElseThrow();
    var data =
        new RecordedSpanData(
            dev.llmstreams.events.Json.readerFor(SpanRecord.class)
                .<SpanRecord>readValue(dev.llmstreams.events.Json.toTree(record)),
            io.opentelemetry.sdk.resources.Resource.getDefault());
    assertThat(data.getTraceId()).isEqualTo(parent.traceId());
    assertThat(data.getParentSpanId()).isEqualTo(parent.spanId());
    assertThat(data.getStartEpochNanos()).isEqualTo(10);
    assertThat(data.getEndEpochNanos()).isEqualTo(20);
    assertThat(data.getStatus().getStatusCode())
        .isEqualTo(io.opentelemetry.api.trace.StatusCode.ERROR);
    assertThat(data.getAttributes().asMap())
        .containsEntry(io.opentelemetry.api.common.AttributeKey.longKey("n"), 3L)
        .containsEntry(io.opentelemetry.api.common.AttributeKey.booleanKey("ok"), true)
        .containsEntry(io.opentelemetry.api.common.AttributeKey.doubleKey("ratio"), 0.5)
        .containsEntry(
            io.opentelemetry.api.common.AttributeKey.stringArrayKey("list"),
            java.util.List.of("a", "b"))
        .containsEntry(io.opentelemetry.api.common.AttributeKey.stringKey("error.type"), "timeout");
    assertThat(data.getLinks())
        .singleElement()
        .satisfies(l -> assertThat(l.getSpanContext().getSpanId()).isEqualTo(other.spanId()));
  }
}
