package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** {@code tail} shows each record's trace id beside its headers. */
class TailCommandTest {
  private static ConsumerRecord<byte[], byte[]> record(String traceparent) {
    ConsumerRecord<byte[], byte[]> r =
        new ConsumerRecord<>(
            "goal-results",
            1,
            42,
            "g1".getBytes(StandardCharsets.UTF_8),
            "{\"goalId\":\"g1\"}".getBytes(StandardCharsets.UTF_8));
    if (traceparent != null) {
      r.headers().add("traceparent", traceparent.getBytes(StandardCharsets.UTF_8));
    }
    return r;
  }

  @Test
  void showsTheTraceIdOfARecordThatCarriesOne() throws Exception {
    JsonNode out =
        Json.tree(
            TailCommand.toJson(record("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")));
    assertThat(out.path("traceId").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    assertThat(out.path("headers").path("traceparent").asText())
        .isEqualTo("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assertThat(out.path("value").path("goalId").asText()).isEqualTo("g1");
  }

  @Test
  void showsNumbersAsTheyWereWritten() {
    byte[] value =
        "{\"amount\":19.990,\"t\":1796670270.5483952,\"n\":12345678901234567890,\"small\":1e-7}"
            .getBytes(StandardCharsets.UTF_8);
    assertThat(TailCommand.toJson(new ConsumerRecord<>("documents", 0, 1, null, value)))
        .contains(
            "\"value\":{\"amount\":19.990,\"t\":1796670270.5483952,\"n\":12345678901234567890,");
  }

  @Test
  void showsNoTraceIdWhenThereIsNoneOrItIsMalformed() throws Exception {
    assertThat(Json.tree(TailCommand.toJson(record(null))).has("traceId")).isFalse();
    JsonNode bad = Json.tree(TailCommand.toJson(record("00-garbage")));
    assertThat(bad.has("traceId")).isFalse();
    assertThat(bad.path("headers").path("traceparent").asText()).isEqualTo("00-garbage");
  }

  @Test
  void showsTheJsonAfterASchemaRegistryHeaderWithItsSchemaId() throws Exception {
    byte[] json = "{\"goalId\":\"g1\"}".getBytes(StandardCharsets.UTF_8);
    byte[] framed =
        java.nio.ByteBuffer.allocate(5 + json.length).put((byte) 0).putInt(-2).put(json).array();
    JsonNode out = Json.tree(TailCommand.toJson(new ConsumerRecord<>("goals", 0, 7, null, framed)));
    assertThat(out.path("value").path("goalId").asText()).isEqualTo("g1");
    assertThat(out.path("valueSchemaId").asLong()).isEqualTo(4_294_967_294L);
    // Avro after the header is shown as it is, every byte visible.
    byte[] avro = {0, 0, 0, 0, 8, 0x06, 'g', '-', '1'};
    JsonNode raw = Json.tree(TailCommand.toJson(new ConsumerRecord<>("goals", 0, 8, null, avro)));
    assertThat(raw.has("valueSchemaId")).isFalse();
    assertThat(raw.path("value").asText()).isEqualTo("\u0000\u0000\u0000\u0000\b\u0006g-1");
  }
}
