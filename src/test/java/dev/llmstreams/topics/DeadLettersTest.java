package dev.llmstreams.topics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.processor.TaskId;
import org.junit.jupiter.api.Test;

/**
 * The handlers' answer by kind of task. TopologyTestDriver does not give a global store's records
 * the global task id, so the global case is checked here and on a real broker (HostileInputIT).
 */
class DeadLettersTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private DeadLetters.OnDeserialization handler() {
    DeadLetters.OnDeserialization handler = new DeadLetters.OnDeserialization();
    handler.configure(
        Map.of(DeadLetters.TOPIC_CONFIG, "dead-letters", DeadLetters.REGISTRY_CONFIG, registry));
    return handler;
  }

  private static ErrorHandlerContext context(TaskId task) {
    return new ErrorHandlerContext() {
      @Override
      public String topic() {
        return "in";
      }

      @Override
      public int partition() {
        return 0;
      }

      @Override
      public long offset() {
        return 7;
      }

      @Override
      public Headers headers() {
        return new RecordHeaders();
      }

      @Override
      public String processorNodeId() {
        return "source";
      }

      @Override
      public TaskId taskId() {
        return task;
      }

      @Override
      public long timestamp() {
        return 0;
      }

      @Override
      public byte[] sourceRawKey() {
        return null;
      }

      @Override
      public byte[] sourceRawValue() {
        return null;
      }
    };
  }

  private static ConsumerRecord<byte[], byte[]> poison() {
    return new ConsumerRecord<>(
        "in", 0, 7, "k".getBytes(StandardCharsets.UTF_8), "{".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aRecordOfAStreamTaskIsDeadLettered() {
    DeserializationExceptionHandler.Response response =
        handler()
            .handleError(
                context(new TaskId(0, 3)), poison(), new SerializationException("cannot read X"));

    assertThat(response.result()).isEqualTo(DeserializationExceptionHandler.Result.RESUME);
    assertThat(response.deadLetterQueueRecords())
        .singleElement()
        .satisfies(r -> assertThat(r.topic()).isEqualTo("dead-letters"));
    assertThat(registry.get("llmstreams.dead.letters").counter().count()).isEqualTo(1);
  }

  @Test
  void aRecordOfAGlobalStoreIsSkippedWithoutADeadLetterThatWouldKillTheGlobalThread() {
    // The global thread's task is -1_-1; a dead letter returned there ends in a ClassCastException
    // (Kafka 4.4).
    DeserializationExceptionHandler.Response response =
        handler()
            .handleError(
                context(new TaskId(-1, -1)), poison(), new SerializationException("cannot read X"));

    assertThat(response.result()).isEqualTo(DeserializationExceptionHandler.Result.RESUME);
    assertThat(response.deadLetterQueueRecords()).isEmpty();
    assertThat(
            registry
                .get("llmstreams.records.skipped")
                .tag("stage", "deserialization")
                .counter()
                .count())
        .isEqualTo(1);
    assertThat(registry.find("llmstreams.dead.letters").counter()).isNull();
  }

  @Test
  void aDeadLetterKeepsTheTraceOfItsRecordOrStartsOne() {
    String producers = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    ConsumerRecord<byte[], byte[]> traced = poison();
    traced.headers().add("traceparent", producers.getBytes(StandardCharsets.UTF_8));
    var kept =
        handler()
            .handleError(context(new TaskId(0, 3)), traced, new SerializationException("x"))
            .deadLetterQueueRecords()
            .get(0);
    assertThat(kept.headers().headers("traceparent"))
        .singleElement()
        .satisfies(
            h -> assertThat(new String(h.value(), StandardCharsets.UTF_8)).isEqualTo(producers));

    var started =
        handler()
            .handleError(context(new TaskId(0, 3)), poison(), new SerializationException("x"))
            .deadLetterQueueRecords()
            .get(0);
    assertThat(
            new String(started.headers().lastHeader("traceparent").value(), StandardCharsets.UTF_8))
        .matches("00-[0-9a-f]{32}-[0-9a-f]{16}-00");
  }
}
