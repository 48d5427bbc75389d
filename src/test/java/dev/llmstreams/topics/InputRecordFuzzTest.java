package dev.llmstreams.topics;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.testkit.TestDrivers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.test.TestRecord;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.config.Configurator;
import org.junit.jupiter.api.AfterAll;

/**
 * Coverage-guided fuzzing of the path a record of an input topic takes from bytes to an event or a
 * dead letter: {@link KeyedInput} (placement on its key's partition, re-route, decode with the
 * topic's {@link JsonSerde}) and {@link DeadLetters}, on the test driver with the app's exception
 * handlers, for every topic of the catalog with a value type; plus {@link Schemas#validate}, which
 * the producers ({@code produce}, the MCP server's write tools) run on the same value.
 *
 * <p>Input, framed so that seeds are easy to write: byte 0 picks the topic (modulo their number);
 * byte 1 is flags (bit 0: no key, bit 1: a tombstone, bit 2: forged {@code llmstreams.origin.*}
 * headers, bit 3: no {@code traceparent}); then the key up to a newline, the {@code traceparent}
 * header up to a newline, and the value (the rest). Contract, for each record piped in:
 *
 * <ul>
 *   <li>clean: exactly one record comes out: the event on the output (what the topic's serde reads
 *       from the value, or null for a tombstone), or a dead letter with the value bytes unchanged,
 *       stage {@code deserialization}, the deserializer's {@link SerializationException} as the
 *       reason and the record's own topic as its source (never a producer's forged origin).
 *   <li>{@link Schemas#validate} of any JSON value returns a list of problems.
 *   <li>anything else is a finding: an exception out of the driver (a processor's or a handler's),
 *       two outputs or none, an Error, a hang.
 * </ul>
 *
 * (A processor's own refusals, {@link RejectedRecordException}, need a pattern's topology and come
 * after this path; the driver would turn them into dead letters the same way.)
 */
class InputRecordFuzzTest {
  private static final int PARTITIONS = 6;
  private static final String DECODED = "fuzz.decoded";
  private static final String DEAD = "dead-letters";

  private static final TopicCatalog CATALOG = TopicCatalog.load();
  private static final List<TopicSpec> INPUTS =
      CATALOG.all().stream()
          .filter(t -> t.valueType() != null && t.role() != TopicRole.DEAD_LETTERS)
          .sorted(java.util.Comparator.comparing(TopicSpec::name))
          .toList();
  private static final Schemas SCHEMAS = new Schemas(CATALOG);

  private static TopologyTestDriver driver;
  private static List<TestInputTopic<String, byte[]>> inputs;
  private static TestOutputTopic<String, byte[]> decoded;
  private static TestOutputTopic<byte[], byte[]> dead;

  private static Level deadLettersLevel;

  private static synchronized void start() {
    if (driver != null) {
      return;
    }
    // One warning per dead letter would be most of the run's time.
    deadLettersLevel = LogManager.getLogger(DeadLetters.class).getLevel();
    Configurator.setLevel(DeadLetters.class.getName(), Level.OFF);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    StreamsBuilder builder = StreamsSettings.newBuilder();
    for (TopicSpec spec : INPUTS) {
      Serde<Object> serde = serde(spec);
      KeyedInput.read(
              builder,
              "fuzz",
              spec.name(),
              spec.keyField(),
              "fuzz." + spec.name(),
              serde.deserializer(),
              PARTITIONS,
              registry)
          .stream()
          .to(
              DECODED,
              Produced.with(Serdes.String(), serde).withName("fuzz." + spec.name() + ".decoded"));
    }
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "input-record-fuzz");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(
        StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetters.OnDeserialization.class);
    props.put(
        StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetters.OnProcessing.class);
    props.put(
        StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetters.OnProduction.class);
    props.put(DeadLetters.TOPIC_CONFIG, DEAD);
    props.put(DeadLetters.REGISTRY_CONFIG, registry);
    driver = TestDrivers.create(builder.build(), props);
    inputs = new ArrayList<>();
    for (TopicSpec spec : INPUTS) {
      inputs.add(
          driver.createInputTopic(spec.name(), new StringSerializer(), new ByteArraySerializer()));
    }
    decoded =
        driver.createOutputTopic(DECODED, new StringDeserializer(), new ByteArrayDeserializer());
    dead = driver.createOutputTopic(DEAD, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  @AfterAll
  static synchronized void stop() {
    if (driver != null) {
      driver.close();
      driver = null;
      Configurator.setLevel(DeadLetters.class.getName(), deadLettersLevel);
    }
  }

  @SuppressWarnings("unchecked")
  private static Serde<Object> serde(TopicSpec spec) {
    try {
      return (Serde<Object>) (Serde<?>) JsonSerde.of(Class.forName(spec.valueType()));
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }

  @FuzzTest
  @DictionaryEntries({
    "\"goalId\"",
    "\"eventId\"",
    "\"docId\"",
    "\"callId\"",
    "\"text\"",
    "\"arguments\"",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
  })
  void pipe(byte[] data) throws IOException {
    if (data.length < 2) {
      return;
    }
    start();
    int pick = Byte.toUnsignedInt(data[0]) % INPUTS.size();
    int flags = data[1];
    int at = 2;
    int keyEnd = indexOf(data, at);
    String key = (flags & 1) != 0 ? null : utf8(data, at, keyEnd);
    at = Math.min(keyEnd + 1, data.length);
    int traceEnd = indexOf(data, at);
    byte[] traceparent = Arrays.copyOfRange(data, at, traceEnd);
    at = Math.min(traceEnd + 1, data.length);
    byte[] value = (flags & 2) != 0 ? null : Arrays.copyOfRange(data, at, data.length);

    TopicSpec topic = INPUTS.get(pick);
    RecordHeaders headers = new RecordHeaders();
    if ((flags & 8) == 0) {
      headers.add("traceparent", traceparent);
    }
    if ((flags & 4) != 0) {
      headers.add(KeyedInput.ORIGIN_TOPIC, "forged".getBytes(StandardCharsets.UTF_8));
      headers.add(KeyedInput.ORIGIN_PARTITION, traceparent);
      headers.add(KeyedInput.ORIGIN_OFFSET, "-1".getBytes(StandardCharsets.UTF_8));
    }

    if (value != null) {
      JsonNode tree = null;
      try {
        tree = Json.reader().readTree(value);
      } catch (IOException notJson) {
        // Not JSON: the producers refuse it before validating.
      }
      if (tree != null) {
        assertThat(SCHEMAS.validate(topic.name(), tree)).isNotNull();
      }
    }

    inputs.get(pick).pipeInput(new TestRecord<>(key, value, headers, 0L));

    List<TestRecord<String, byte[]>> events = decoded.readRecordsToList();
    List<TestRecord<byte[], byte[]>> letters = dead.readRecordsToList();
    assertThat(events.size() + letters.size()).as("records out for one in").isEqualTo(1);
    Object expected;
    try {
      expected = serde(topic).deserializer().deserialize(topic.name(), value);
    } catch (SerializationException unreadable) {
      assertThat(letters).as("an unreadable value is dead-lettered").hasSize(1);
      TestRecord<byte[], byte[]> letter = letters.get(0);
      assertThat(letter.value()).isEqualTo(value);
      assertThat(header(letter, DeadLetters.STAGE)).isEqualTo("deserialization");
      assertThat(header(letter, DeadLetters.EXCEPTION_CLASS))
          .isEqualTo(SerializationException.class.getName());
      assertThat(header(letter, DeadLetters.SOURCE_TOPIC)).isEqualTo(topic.name());
      return;
    }
    assertThat(events).as("a readable value goes on").hasSize(1);
    // Under its key; one produced without a key, under its value's key field when it names one.
    assertThat(events.get(0).key())
        .isEqualTo(
            key != null ? key : dev.llmstreams.testkit.ValueKeys.of(topic.keyField(), value));
    byte[] out = events.get(0).value();
    Object got = out == null ? null : serde(topic).deserializer().deserialize(topic.name(), out);
    assertThat(got).isEqualTo(expected);
  }

  private static String header(TestRecord<byte[], byte[]> record, String key) {
    Header h = record.headers().lastHeader(key);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** The index of the next newline from {@code from}, or the end. */
  private static int indexOf(byte[] data, int from) {
    for (int i = from; i < data.length; i++) {
      if (data[i] == '\n') {
        return i;
      }
    }
    return data.length;
  }

  private static String utf8(byte[] data, int from, int to) {
    return new String(data, from, Math.max(0, to - from), StandardCharsets.UTF_8);
  }
}
