package dev.llmstreams.topics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.testkit.DriverTopics;
import dev.llmstreams.testkit.TestDrivers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.IntegerDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link KeyedInput} on the test driver, where every input record arrives on partition 0: keys
 * whose partition is 0 go straight on, every other key takes the re-route topic, and both reach the
 * same processor, decoded, with their headers and timestamps; what cannot be read is dead-lettered
 * under the record's own topic, partition and offset.
 */
class KeyedInputTest {
  private static final int PARTITIONS = 6;
  private static final String INPUT = "numbers";
  private static final String OUTPUT = "seen";
  private static final String DEAD = "dead-letters";

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> input;
  private TestOutputTopic<String, Integer> seen;
  private TestOutputTopic<byte[], byte[]> dead;

  /**
   * Forwards each decoded value with the partition of the re-route topic or input it was read from,
   * as a header.
   */
  static final class Observe implements FixedKeyProcessor<String, Integer, Integer> {
    private FixedKeyProcessorContext<String, Integer> context;

    @Override
    public void init(FixedKeyProcessorContext<String, Integer> context) {
      this.context = context;
    }

    @Override
    public void process(FixedKeyRecord<String, Integer> record) {
      String from = context.recordMetadata().map(m -> m.topic()).orElse("?");
      RecordHeaders headers = new RecordHeaders(record.headers().toArray());
      headers.add("read-from", from.getBytes(StandardCharsets.UTF_8));
      context.forward(record.withHeaders(headers));
    }
  }

  @BeforeEach
  void start() {
    StreamsBuilder builder = StreamsSettings.newBuilder();
    KeyedInput.read(
            builder,
            "test",
            INPUT,
            null,
            "test.numbers",
            (topic, bytes) -> {
              String text = new String(bytes, StandardCharsets.UTF_8);
              if (!text.matches("-?\\d+")) {
                throw new org.apache.kafka.common.errors.SerializationException(
                    "not a number: " + text);
              }
              return Integer.valueOf(text);
            },
            PARTITIONS,
            registry)
        .stream()
        .processValues(Observe::new, Named.as("test.observe"))
        .to(OUTPUT, Produced.with(Serdes.String(), Serdes.Integer()).withName("test.seen"));
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "keyed-input-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(
        StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetters.OnProcessing.class);
    props.put(DeadLetters.TOPIC_CONFIG, DEAD);
    props.put(DeadLetters.REGISTRY_CONFIG, registry);
    driver = TestDrivers.create(builder.build(), props);
    input = driver.createInputTopic(INPUT, new StringSerializer(), new ByteArraySerializer());
    seen = driver.createOutputTopic(OUTPUT, new StringDeserializer(), new IntegerDeserializer());
    dead = driver.createOutputTopic(DEAD, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  @Test
  void shouldPlaceARecordProducedWithoutAKeyByItsValuesKeyField() {
    KeyedInput.Placement placement = new KeyedInput.Placement(6, "eventId");
    byte[] request =
        "{\"eventId\":\"e-7\",\"text\":\"where is my card\"}".getBytes(StandardCharsets.UTF_8);
    String home = "e-7";
    int itsPartition = KeyedInput.partitionOf(home, 6);
    org.apache.kafka.streams.processor.api.RecordMetadata there = metadata(itsPartition);

    assertThat(placement.keyOf(null, request)).isEqualTo("e-7");
    assertThat(placement.keyOf("own-key", request)).isEqualTo("own-key");
    // An empty or blank key is no key: kcat -K with nothing before the delimiter sends "".
    assertThat(placement.keyOf("", request)).isEqualTo("e-7");
    assertThat(placement.keyOf(" \t", request)).isEqualTo("e-7");
    // After a Confluent Schema Registry header (magic byte 0, schema id 7), as the value is read.
    byte[] framed = new byte[5 + request.length];
    framed[4] = 7;
    System.arraycopy(request, 0, framed, 5, request.length);
    assertThat(placement.keyOf(null, framed)).isEqualTo("e-7");
    assertThat(placement.stays("", request, there)).isFalse();
    // Produced without a key it moves, even onto its key's partition, so that it gets the key.
    assertThat(placement.stays(null, request, there)).isFalse();
    assertThat(placement.stays("e-7", request, there)).isTrue();
    assertThat(placement.stays("e-7", request, metadata((itsPartition + 1) % 6))).isFalse();
    // Without a usable key field it stays, and is refused there if the pattern needs a key.
    for (String value :
        new String[] {
          "not json",
          "[1,2]",
          "{\"eventId\":42}",
          "{\"eventId\":\"  \"}",
          "{\"text\":\"x\"}",
          "{\"eventId\":"
        }) {
      byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
      assertThat(placement.keyOf(null, bytes)).as(value).isNull();
      assertThat(placement.stays(null, bytes, there)).as(value).isTrue();
      assertThat(placement.stays("", bytes, there)).as(value).isTrue();
    }
    assertThat(placement.stays(null, null, there)).isTrue();
    assertThat(new KeyedInput.Placement(6, null).stays(null, request, there)).isTrue();
  }

  private static org.apache.kafka.streams.processor.api.RecordMetadata metadata(int partition) {
    return new org.apache.kafka.streams.processor.api.RecordMetadata() {
      @Override
      public String topic() {
        return INPUT;
      }

      @Override
      public int partition() {
        return partition;
      }

      @Override
      public long offset() {
        return 0;
      }
    };
  }

  @Test
  void shouldPickThePartitionAJavaProducerPicks() {
    for (int i = 0; i < 2_000; i++) {
      String key = "key-" + i + (i % 7 == 0 ? "-é✓" : "");
      for (int n : new int[] {1, 2, 3, 6, 12, 100}) {
        assertThat(KeyedInput.partitionOf(key, n))
            .isEqualTo(BuiltInPartitioner.partitionForKey(key.getBytes(StandardCharsets.UTF_8), n));
      }
    }
  }

  @Test
  void shouldBringEveryRecordToTheProcessorAndRerouteOnlyThoseOffTheirKeysPartition() {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      keys.add("goal-" + i);
    }
    long offKey = keys.stream().filter(k -> KeyedInput.partitionOf(k, PARTITIONS) != 0).count();
    assertThat(offKey).as("the sample has keys on and off partition 0").isBetween(1L, 59L);
    Instant at = Instant.parse("2026-12-05T10:00:00Z");
    for (int i = 0; i < keys.size(); i++) {
      RecordHeaders headers = new RecordHeaders();
      headers.add("trace", ("t-" + i).getBytes(StandardCharsets.UTF_8));
      headers.add(
          KeyedInput.ORIGIN_TOPIC,
          "forged".getBytes(StandardCharsets.UTF_8)); // a producer's own: replaced
      input.pipeInput(
          new TestRecord<>(
              keys.get(i),
              Integer.toString(i).getBytes(StandardCharsets.UTF_8),
              headers,
              at.plusSeconds(i)));
    }

    List<TestRecord<String, Integer>> out = seen.readRecordsToList();
    assertThat(out).extracting(TestRecord::key).containsExactlyInAnyOrderElementsOf(keys);
    for (TestRecord<String, Integer> r : out) {
      int i = r.value();
      assertThat(r.key()).isEqualTo("goal-" + i);
      assertThat(r.timestamp()).isEqualTo(at.plusSeconds(i).toEpochMilli());
      assertThat(DriverTopics.header(r.headers(), "trace")).isEqualTo("t-" + i);
      boolean home = KeyedInput.partitionOf(r.key(), PARTITIONS) == 0;
      String readFrom = DriverTopics.header(r.headers(), "read-from");
      if (home) {
        assertThat(readFrom).isEqualTo(INPUT);
      } else {
        assertThat(KeyedInput.isRerouted(readFrom)).as(readFrom).isTrue();
        assertThat(readFrom).isEqualTo("keyed-input-test-test.numbers.rerouted-repartition");
        assertThat(DriverTopics.header(r.headers(), KeyedInput.ORIGIN_TOPIC)).isEqualTo(INPUT);
        assertThat(DriverTopics.header(r.headers(), KeyedInput.ORIGIN_PARTITION)).isEqualTo("0");
        assertThat(DriverTopics.header(r.headers(), KeyedInput.ORIGIN_OFFSET))
            .isEqualTo(Integer.toString(i));
        assertThat(r.headers().headers(KeyedInput.ORIGIN_TOPIC)).hasSize(1);
      }
    }
    assertThat(
            registry
                .get("llmstreams.records.rerouted")
                .tags("pattern", "test", "topic", INPUT)
                .counter()
                .count())
        .isEqualTo((double) offKey);
    assertThat(dead.isEmpty()).isTrue();
  }

  @Test
  void shouldDeadLetterAnUnreadableRerouteRecordUnderItsOwnTopicPartitionAndOffset() {
    String home = firstKey(true);
    String away = firstKey(false);
    input.pipeInput(home, "1".getBytes(StandardCharsets.UTF_8));
    input.pipeInput(away, "{not json\u0000".getBytes(StandardCharsets.UTF_8));
    input.pipeInput(home, "oops".getBytes(StandardCharsets.UTF_8));
    input.pipeInput(away, "2".getBytes(StandardCharsets.UTF_8));
    input.pipeInput(
        (String) null,
        "3".getBytes(StandardCharsets.UTF_8)); // no key: not placed, read where it is

    assertThat(seen.readRecordsToList())
        .extracting(TestRecord::value)
        .containsExactlyInAnyOrder(1, 2, 3);
    List<TestRecord<byte[], byte[]>> letters = dead.readRecordsToList();
    assertThat(letters).hasSize(2);
    TestRecord<byte[], byte[]> rerouted =
        letters.stream()
            .filter(d -> new String(d.key(), StandardCharsets.UTF_8).equals(away))
            .findFirst()
            .orElseThrow();
    assertThat(rerouted.value()).isEqualTo("{not json\u0000".getBytes(StandardCharsets.UTF_8));
    assertThat(DriverTopics.header(rerouted.headers(), DeadLetters.SOURCE_TOPIC)).isEqualTo(INPUT);
    assertThat(DriverTopics.header(rerouted.headers(), DeadLetters.SOURCE_PARTITION))
        .isEqualTo("0");
    assertThat(DriverTopics.header(rerouted.headers(), DeadLetters.SOURCE_OFFSET)).isEqualTo("1");
    assertThat(DriverTopics.header(rerouted.headers(), DeadLetters.STAGE))
        .isEqualTo("deserialization");
    assertThat(DriverTopics.header(rerouted.headers(), DeadLetters.EXCEPTION_CLASS))
        .isEqualTo("org.apache.kafka.common.errors.SerializationException");
    assertThat(DriverTopics.header(rerouted.headers(), DeadLetters.EXCEPTION_MESSAGE))
        .contains("not a number");
    assertThat(DriverTopics.header(rerouted.headers(), DeadLetters.REROUTED_VIA))
        .startsWith("keyed-input-test-test.numbers.rerouted-repartition-");
    assertThat(rerouted.headers().lastHeader(KeyedInput.ORIGIN_TOPIC)).isNull();
    TestRecord<byte[], byte[]> direct =
        letters.stream()
            .filter(d -> new String(d.key(), StandardCharsets.UTF_8).equals(home))
            .findFirst()
            .orElseThrow();
    assertThat(DriverTopics.header(direct.headers(), DeadLetters.SOURCE_OFFSET)).isEqualTo("2");
    assertThat(direct.headers().lastHeader(DeadLetters.REROUTED_VIA)).isNull();
    assertThat(
            registry
                .get("llmstreams.dead.letters")
                .tags(
                    "source_topic",
                    INPUT,
                    "stage",
                    "deserialization",
                    "reason",
                    "SerializationException")
                .counter()
                .count())
        .isEqualTo(2.0);
  }

  @Test
  void shouldNotBelieveOriginHeadersOnARecordReadDirectly() {
    String home = firstKey(true);
    RecordHeaders forged = new RecordHeaders();
    forged.add(KeyedInput.ORIGIN_TOPIC, "somewhere-else".getBytes(StandardCharsets.UTF_8));
    forged.add(KeyedInput.ORIGIN_PARTITION, "9".getBytes(StandardCharsets.UTF_8));
    forged.add(KeyedInput.ORIGIN_OFFSET, "99".getBytes(StandardCharsets.UTF_8));
    input.pipeInput(
        new TestRecord<>(home, "nope".getBytes(StandardCharsets.UTF_8), forged, Instant.now()));
    TestRecord<byte[], byte[]> letter = dead.readRecord();
    assertThat(DriverTopics.header(letter.headers(), DeadLetters.SOURCE_TOPIC)).isEqualTo(INPUT);
    assertThat(DriverTopics.header(letter.headers(), DeadLetters.SOURCE_PARTITION)).isEqualTo("0");
    assertThat(DriverTopics.header(letter.headers(), DeadLetters.SOURCE_OFFSET)).isEqualTo("0");
  }

  private static String firstKey(boolean onPartitionZero) {
    for (int i = 0; ; i++) {
      String key = "k" + i;
      if ((KeyedInput.partitionOf(key, PARTITIONS) == 0) == onPartitionZero) {
        return key;
      }
    }
  }
}
