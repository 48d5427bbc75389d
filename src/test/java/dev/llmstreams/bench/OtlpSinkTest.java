package dev.llmstreams.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class OtlpSinkTest {
  @Test
  void acceptsTheSdksOtlpHttpExportAndCountsIt() throws Exception {
    try (OtlpSink sink = OtlpSink.start()) {
      OtlpHttpSpanExporter exporter =
          OtlpHttpSpanExporter.builder()
              .setEndpoint(sink.endpoint() + OtlpSink.TRACES_PATH)
              .build();
      try (SdkTracerProvider provider =
          SdkTracerProvider.builder()
              .addSpanProcessor(SimpleSpanProcessor.create(exporter))
              .build()) {
        provider.get("test").spanBuilder("chat").startSpan().end();
        CompletableResultCode flushed = provider.forceFlush().join(10, TimeUnit.SECONDS);
        assertTrue(flushed.isSuccess(), "the exporter took the empty protobuf answer as success");
      }
      assertEquals(1, sink.requests());
      assertTrue(sink.bytes() > 0);
      assertEquals(0, sink.refused());
    }
  }

  @Test
  void answersOtherPathsAndMethodsWithoutCountingThem() throws Exception {
    try (OtlpSink sink = OtlpSink.start()) {
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> get =
          http.send(
              HttpRequest.newBuilder(URI.create(sink.endpoint() + OtlpSink.TRACES_PATH)).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(405, get.statusCode());
      HttpResponse<String> metrics =
          http.send(
              HttpRequest.newBuilder(URI.create(sink.endpoint() + "/v1/metrics"))
                  .POST(HttpRequest.BodyPublishers.ofString("x"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(404, metrics.statusCode());
      HttpResponse<String> traces =
          http.send(
              HttpRequest.newBuilder(URI.create(sink.endpoint() + OtlpSink.TRACES_PATH))
                  .header("Content-Type", "application/x-protobuf")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[10]))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, traces.statusCode());
      assertEquals(
          "application/x-protobuf", traces.headers().firstValue("Content-Type").orElse(null));
      assertEquals("", traces.body());
      assertEquals(1, sink.requests());
      assertEquals(10, sink.bytes());
      assertEquals(2, sink.refused());
    }
  }

  @Test
  void pointsTheOtelSystemPropertiesHereUntilClosed() throws Exception {
    String before = System.getProperty("otel.traces.exporter");
    System.setProperty("otel.traces.exporter", "console");
    try {
      String endpoint;
      try (OtlpSink sink = OtlpSink.start().exportHere()) {
        endpoint = sink.endpoint();
        assertEquals("otlp", System.getProperty("otel.traces.exporter"));
        assertEquals("http/protobuf", System.getProperty("otel.exporter.otlp.protocol"));
        assertEquals(endpoint, System.getProperty("otel.exporter.otlp.endpoint"));
      }
      assertEquals("console", System.getProperty("otel.traces.exporter"));
      assertNull(System.getProperty("otel.exporter.otlp.endpoint"));
      assertNull(System.getProperty("otel.exporter.otlp.protocol"));
    } finally {
      if (before == null) {
        System.clearProperty("otel.traces.exporter");
      } else {
        System.setProperty("otel.traces.exporter", before);
      }
    }
  }
}
