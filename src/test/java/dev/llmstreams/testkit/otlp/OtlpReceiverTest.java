package dev.llmstreams.testkit.otlp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.testkit.otlp.OtlpReceiver.ReceivedSpan;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporterBuilder;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The test kit's OTLP receiver against the OpenTelemetry SDK's own OTLP/HTTP exporter: what the SDK
 * sends arrives decoded (ids, parent, kind, times, attributes of every type, links, status,
 * resource), gzip or not; a 503 is retried by the SDK and the span arrives once.
 */
class OtlpReceiverTest {
  private final OtlpReceiver receiver = OtlpReceiver.start();

  @AfterEach
  void tearDown() {
    receiver.close();
  }

  @Test
  void shouldDecodeWhatTheSdksExporterSendsGzipped() {
    assertDecoded(b -> b.setCompression("gzip"));
  }

  @Test
  void shouldDecodeWhatTheSdksExporterSendsPlain() {
    assertDecoded(b -> b.setCompression("none"));
  }

  private void assertDecoded(UnaryOperator<OtlpHttpSpanExporterBuilder> options) {
    OtlpHttpSpanExporter exporter =
        options
            .apply(OtlpHttpSpanExporter.builder().setEndpoint(receiver.tracesEndpoint()))
            .build();
    Resource resource =
        Resource.getDefault().merge(Resource.builder().put("service.name", "otlp-test").build());
    try (SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .setResource(resource)
            .addSpanProcessor(SimpleSpanProcessor.create(exporter))
            .build()) {
      Tracer tracer = provider.get("dev.llmstreams.test");
      Span other = tracer.spanBuilder("other").startSpan();
      other.end();
      Span parent =
          tracer
              .spanBuilder("invoke_agent controller")
              .setSpanKind(SpanKind.INTERNAL)
              .setStartTimestamp(1_000_000_000L, TimeUnit.NANOSECONDS)
              .startSpan();
      Span child =
          tracer
              .spanBuilder("chat gpt-x")
              .setSpanKind(SpanKind.CLIENT)
              .setParent(Context.root().with(parent))
              .addLink(
                  other.getSpanContext(), Attributes.of(AttributeKey.stringKey("why"), "merge"))
              .setAttribute("gen_ai.request.model", "gpt-x")
              .setAttribute("gen_ai.usage.input_tokens", 21L)
              .setAttribute("llmstreams.llm.cache_hit", false)
              .setAttribute("llmstreams.llm.cost_usd", 0.25)
              .setAttribute(
                  AttributeKey.stringArrayKey("gen_ai.response.finish_reasons"), List.of("stop"))
              .setStartTimestamp(1_100_000_000L, TimeUnit.NANOSECONDS)
              .startSpan();
      child.setStatus(StatusCode.ERROR, "rate limited");
      child.end(1_900_000_000L, TimeUnit.NANOSECONDS);
      parent.end(2_000_000_000L, TimeUnit.NANOSECONDS);
      assertThat(provider.forceFlush().join(30, TimeUnit.SECONDS).isSuccess()).isTrue();

      List<ReceivedSpan> spans = receiver.awaitSpans(s -> s.size() >= 3, Duration.ofSeconds(30));
      assertThat(spans).hasSize(3);
      ReceivedSpan got =
          spans.stream().filter(s -> s.name().equals("chat gpt-x")).findFirst().orElseThrow();
      ReceivedSpan root =
          spans.stream()
              .filter(s -> s.name().equals("invoke_agent controller"))
              .findFirst()
              .orElseThrow();
      assertThat(got.traceId()).isEqualTo(parent.getSpanContext().getTraceId());
      assertThat(got.spanId()).isEqualTo(child.getSpanContext().getSpanId());
      assertThat(got.parentSpanId()).isEqualTo(parent.getSpanContext().getSpanId());
      assertThat(root.parentSpanId()).isNull();
      assertThat(got.kind()).isEqualTo("CLIENT");
      assertThat(root.kind()).isEqualTo("INTERNAL");
      assertThat(got.startEpochNanos()).isEqualTo(1_100_000_000L);
      assertThat(got.endEpochNanos()).isEqualTo(1_900_000_000L);
      assertThat(got.attributes())
          .containsExactlyInAnyOrderEntriesOf(
              Map.of(
                  "gen_ai.request.model",
                  "gpt-x",
                  "gen_ai.usage.input_tokens",
                  21L,
                  "llmstreams.llm.cache_hit",
                  false,
                  "llmstreams.llm.cost_usd",
                  0.25,
                  "gen_ai.response.finish_reasons",
                  List.of("stop")));
      assertThat(got.links())
          .containsExactly(
              new ReceivedSpan.Link(
                  other.getSpanContext().getTraceId(),
                  other.getSpanContext().getSpanId(),
                  Map.of("why", "merge")));
      assertThat(got.status()).isEqualTo("ERROR");
      assertThat(got.statusMessage()).isEqualTo("rate limited");
      assertThat(got.service()).isEqualTo("otlp-test");
      assertThat(got.resource()).containsEntry("telemetry.sdk.language", "java");
      assertThat(got.scope()).isEqualTo("dev.llmstreams.test");
      assertThat(receiver.trace(parent.getSpanContext().getTraceId()))
          .extracting(ReceivedSpan::name)
          .containsExactlyInAnyOrder("invoke_agent controller", "chat gpt-x");
    }
  }

  @Test
  void shouldFailRequestsOnDemandWhichTheSdkRetries() {
    receiver.failNext(2);
    try (SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .addSpanProcessor(
                SimpleSpanProcessor.create(
                    OtlpHttpSpanExporter.builder()
                        .setEndpoint(receiver.tracesEndpoint())
                        .build())) // the SDK's default retry policy: 503 is retryable
            .build()) {
      Span span = provider.get("dev.llmstreams.test").spanBuilder("retried").startSpan();
      span.end();
      assertThat(provider.forceFlush().join(60, TimeUnit.SECONDS).isSuccess()).isTrue();
      receiver.awaitSpans(s -> !s.isEmpty(), Duration.ofSeconds(30));
      assertThat(receiver.spans())
          .singleElement()
          .satisfies(s -> assertThat(s.spanId()).isEqualTo(span.getSpanContext().getSpanId()));
      assertThat(receiver.failedCount()).isEqualTo(2);
      assertThat(receiver.requestCount()).isEqualTo(3);
    }
  }

  @Test
  void shouldReportAFailureToAnExporterThatDoesNotRetry() {
    receiver.failNext(1);
    OtlpHttpSpanExporter exporter =
        OtlpHttpSpanExporter.builder()
            .setEndpoint(receiver.tracesEndpoint())
            .setRetryPolicy(null)
            .build();
    List<SpanData> ended = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .addSpanProcessor(
                new SpanProcessor() {
                  @Override
                  public void onStart(Context parent, ReadWriteSpan span) {}

                  @Override
                  public boolean isStartRequired() {
                    return false;
                  }

                  @Override
                  public void onEnd(ReadableSpan span) {
                    ended.add(span.toSpanData());
                  }

                  @Override
                  public boolean isEndRequired() {
                    return true;
                  }
                })
            .build()) {
      provider.get("dev.llmstreams.test").spanBuilder("lost").startSpan().end();
      assertThat(ended).hasSize(1);
      CompletableResultCode first = exporter.export(ended).join(30, TimeUnit.SECONDS);
      assertThat(first.isSuccess()).isFalse();
      assertThat(receiver.spans()).isEmpty();
      CompletableResultCode second = exporter.export(ended).join(30, TimeUnit.SECONDS);
      assertThat(second.isSuccess()).isTrue();
      assertThat(receiver.spans())
          .singleElement()
          .satisfies(s -> assertThat(s.spanId()).isEqualTo(ended.get(0).getSpanId()));
    } finally {
      exporter.shutdown().join(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void shouldRefuseWhatIsNotAnOtlpTraceExport() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> json =
        http.send(
            HttpRequest.newBuilder(URI.create(receiver.tracesEndpoint()))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"resourceSpans\":[]}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(json.statusCode()).isEqualTo(415);
    HttpResponse<String> garbage =
        http.send(
            HttpRequest.newBuilder(URI.create(receiver.tracesEndpoint()))
                .header("Content-Type", "application/x-protobuf")
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[] {(byte) 0xff, 0x01}))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(garbage.statusCode()).isEqualTo(400);
    HttpResponse<String> elsewhere =
        http.send(
            HttpRequest.newBuilder(URI.create(receiver.endpoint() + "/v1/metrics"))
                .header("Content-Type", "application/x-protobuf")
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[0]))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(elsewhere.statusCode()).isEqualTo(404);
    assertThat(receiver.spans()).isEmpty();
  }
}
