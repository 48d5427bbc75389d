package dev.llmstreams.mcpserver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.observability.Health;
import dev.llmstreams.observability.HttpApi;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.topics.TopicCatalog;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A tools/call with a W3C traceparent in its _meta (MCP SEP-414) continues the caller's trace. */
class McpServerTraceTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private final MockProducer<byte[], byte[]> producer =
      new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
  private HttpApi http;
  private Observability observability;
  private LlmStreamsMcpServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    if (http != null) {
      http.close();
    }
    if (observability != null) {
      observability.close();
    }
  }

  private URI start() throws Exception {
    observability = new Observability();
    http = new HttpApi("127.0.0.1", 0, observability, () -> Health.of(Map.of("t", "RUNNING")));
    LogClient log =
        new LogClient(
            TopicCatalog.load(),
            () -> producer,
            () -> {
              throw new AssertionError("no consumer in this test");
            });
    server =
        LlmStreamsMcpServer.http(
            http,
            AppConfig.of(Map.of()),
            log,
            new AppQueries(() -> "http://127.0.0.1:" + http.port()),
            observability.registry());
    http.start();
    return URI.create("http://127.0.0.1:" + http.port() + "/mcp");
  }

  private void submit(URI uri, String goalId, String meta) throws Exception {
    String body =
        """
        {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"submit_goal",
         "arguments":{"goal":"What is 2+2?","tools":["calculator"],"goalId":"%s"}%s}}
        """
            .formatted(goalId, meta == null ? "" : ",\"_meta\":" + meta);
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(uri)
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Accept", "application/json, text/event-stream")
                .header("Content-Type", "application/json")
                .header("MCP-Protocol-Version", "2025-06-18")
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.body()).contains("submitted");
  }

  private static String header(ProducerRecord<byte[], byte[]> r, String key) {
    var h = r.headers().lastHeader(key);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  @Test
  void theGoalCarriesTheCallersTraceContextAndNothingMalformed() throws Exception {
    URI uri = start();
    submit(
        uri,
        "g-traced",
        "{\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\","
            + "\"tracestate\":\"agent=1\"}");
    submit(uri, "g-bad", "{\"traceparent\":\"00-nonsense\"}");
    submit(uri, "g-none", null);

    var sent = producer.history();
    assertThat(sent).hasSize(3);
    assertThat(header(sent.get(0), "traceparent"))
        .isEqualTo("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assertThat(header(sent.get(0), "tracestate")).isEqualTo("agent=1");
    assertThat(header(sent.get(1), "traceparent")).as("malformed: left out").isNull();
    assertThat(header(sent.get(2), "traceparent")).isNull();
  }
}
