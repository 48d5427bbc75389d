package dev.llmstreams.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Coverage-guided fuzzing of every topic value's deserializer ({@link JsonSerde} over {@link
 * Json}): the bytes any producer may write.
 *
 * <p>Input: the first byte picks the event type ({@link #TYPES}, modulo their number), the rest is
 * the record value. Contract:
 *
 * <ul>
 *   <li>clean: the deserializer returns an event, or null for the JSON literal {@code null} (read
 *       like a tombstone, which every processor refuses); or it throws {@link
 *       SerializationException} whose message starts {@code cannot read <Type>: }.
 *   <li>an event that was read writes back (the serializer does not throw) and reads back equal.
 *   <li>anything else is a finding: another exception (NPE, IllegalArgumentException or
 *       DateTimeException escaping a constructor, ...), an Error (StackOverflowError,
 *       OutOfMemoryError), or a hang (libFuzzer's -timeout).
 * </ul>
 */
class EventDeserializersFuzzTest {
  static final List<Class<?>> TYPES =
      List.of(
          Goal.class,
          GoalEvent.class,
          GoalResult.class,
          GoalCancellation.class,
          TenantSpend.class,
          TenantTotal.class,
          HumanAnswer.class,
          Document.class,
          ClassificationRequest.class,
          Classification.class,
          LabelEvent.class,
          Approval.class,
          LlmRequest.class,
          LlmReply.class,
          ToolCall.class,
          ToolCallRequest.class,
          ToolResult.class,
          SpecialistModel.class,
          SpanRecord.class,
          Synthesis.class,
          ShadowReply.class);

  private static final List<JsonSerde<?>> SERDES =
      TYPES.stream().<JsonSerde<?>>map(JsonSerde::of).toList();

  @FuzzTest
  @DictionaryEntries({
    "\"goalId\"",
    "\"eventId\"",
    "\"docId\"",
    "\"callId\"",
    "\"requestId\"",
    "\"type\"",
    "\"text\"",
    "\"messages\"",
    "\"toolCalls\"",
    "\"arguments\"",
    "\"usage\"",
    "\"budget\"",
    "\"window\"",
    "\"provenance\"",
    "\"at\"",
    "\"2026-12-05T10:00:00Z\"",
    "null",
    "true",
    "1e999"
  })
  void deserialize(byte[] data) {
    if (data.length == 0) {
      return;
    }
    int pick = Byte.toUnsignedInt(data[0]) % TYPES.size();
    byte[] value = Arrays.copyOfRange(data, 1, data.length);
    read(pick, value);
  }

  @SuppressWarnings("unchecked")
  private static <T> void read(int pick, byte[] value) {
    JsonSerde<T> serde = (JsonSerde<T>) SERDES.get(pick);
    String name = TYPES.get(pick).getSimpleName();
    T event;
    try {
      event = serde.deserializer().deserialize("fuzz", value);
    } catch (SerializationException refused) {
      assertThat(refused.getMessage()).startsWith("cannot read " + name + ": ");
      return;
    }
    if (event == null) {
      return;
    }
    byte[] written = serde.serializer().serialize("fuzz", event);
    assertThat(serde.deserializer().deserialize("fuzz", written))
        .as("%s written back and read again", name)
        .isEqualTo(event);
  }
}
