package dev.llmstreams.topics;

import dev.llmstreams.events.ConfluentFraming;
import dev.llmstreams.events.Utf8;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * A keyed input topic read so that every record is processed by the task that holds its key's
 * state, whatever partition its producer chose.
 *
 * <p>A Kafka Streams task owns one partition number of all its topics. The app's own producers (LLM
 * replies, tool results) put a key on {@code murmur2(key) % N}, Java's default; librdkafka clients
 * (kcat, Python, Go, .NET, Node) hash with CRC32, and other producers pick partitions themselves.
 * So each record is checked where it arrives: one already on its key's partition goes straight on
 * (no cost beyond the hash); any other is re-routed through the internal topic {@code
 * <application.id>-<source>.rerouted-repartition}, written in the same transaction as its input
 * offset (exactly once), with its key, its value bytes unchanged, its headers and its timestamp,
 * plus headers saying where it arrived, so that a dead letter names the record's own topic,
 * partition and offset.
 *
 * <pre>
 * topic ─▶ &lt;source&gt; ─┬▶ .on-key-partition ──────────────────────────────┬▶ .placed ─▶ .read (decode) ─▶ …
 *                    └▶ .off-key-partition ─▶ .rerouted (repartition) ─┘
 * </pre>
 *
 * Values are decoded after placement, so a re-routed record travels as the producer's bytes; a
 * record that cannot be read is dead-lettered as unreadable ({@link UnreadableRecordException},
 * stage {@code deserialization}).
 */
public final class KeyedInput {
  /**
   * Header: the topic a re-routed record was produced to (set by this class, replacing any the
   * producer sent).
   */
  public static final String ORIGIN_TOPIC = "llmstreams.origin.topic";

  public static final String ORIGIN_PARTITION = "llmstreams.origin.partition";
  public static final String ORIGIN_OFFSET = "llmstreams.origin.offset";

  /**
   * What Kafka Streams appends to a repartition topic's name; ours end in {@code .rerouted} before
   * it.
   */
  public static final String REROUTED_TOPIC_SUFFIX = ".rerouted-repartition";

  /**
   * The decoded records on their key's partition, and the name of the node that emits them (for
   * PAPI parents).
   */
  public record Placed<V>(KStream<String, V> stream, String node) {}

  private KeyedInput() {}

  /**
   * {@link #read(StreamsBuilder, String, String, String, Deserializer, int, MeterRegistry) read}
   * with the topic's own value deserializer.
   */
  public static <V> Placed<V> read(
      StreamsBuilder builder,
      String pattern,
      Topic<V> topic,
      String source,
      int partitions,
      MeterRegistry registry) {
    return read(
        builder,
        pattern,
        topic.name(),
        topic.spec().keyField(),
        source,
        topic.valueSerde().deserializer(),
        partitions,
        registry);
  }

  /**
   * Reads {@code topic} through source node {@code source}, placing each record on partition {@link
   * #partitionOf partitionOf(key, partitions)}, then decoding its value.
   *
   * @param keyField the value's field that holds its key (the catalog's {@code keyField}), or null:
   *     a record produced without a key but with this field is keyed by it and re-routed to that
   *     key's partition
   * @param partitions the number of partitions the pattern keeps its state in (its keyed inputs'
   *     largest count)
   */
  public static <V> Placed<V> read(
      StreamsBuilder builder,
      String pattern,
      String topic,
      String keyField,
      String source,
      Deserializer<V> values,
      int partitions,
      MeterRegistry registry) {
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be positive, not " + partitions);
    }
    Counter rerouted =
        Counter.builder("llmstreams.records.rerouted")
            .description(
                "Input records that arrived on a partition other than their key's (a producer that does not"
                    + " partition by murmur2, e.g. librdkafka's CRC32 default) and were re-routed to it")
            .tag("pattern", pattern)
            .tag("topic", topic)
            .register(registry);
    Counter keyed =
        Counter.builder("llmstreams.records.keyed.from.value")
            .description(
                "Input records produced without a key and keyed by their value's key field (e.g."
                    + " eventId), then re-routed to that key's partition")
            .tag("pattern", pattern)
            .tag("topic", topic)
            .register(registry);
    Counter unknown =
        Counter.builder("llmstreams.records.unknown.fields")
            .description(
                "Input records with fields their contract does not name: read without them (a tolerant"
                    + " reader), so what a producer put there is not passed on; a WARN names the fields"
                    + " once a minute per topic")
            .tag("pattern", pattern)
            .tag("topic", topic)
            .register(registry);
    KStream<String, byte[]> arrived =
        builder.stream(topic, Consumed.with(Serdes.String(), Serdes.ByteArray()).withName(source));
    Placement placement = new Placement(partitions, keyField);
    KStream<String, byte[]> atHome =
        arrived.processValues(() -> new Stay(placement), Named.as(source + ".on-key-partition"));
    KStream<String, byte[]> moved =
        arrived
            .process(
                () -> new Move(placement, rerouted, keyed), Named.as(source + ".off-key-partition"))
            .repartition(
                Repartitioned.with(Serdes.String(), Serdes.ByteArray())
                    .withName(source + ".rerouted")
                    .withNumberOfPartitions(partitions));
    String read = source + ".read";
    KStream<String, V> decoded =
        atHome
            .merge(moved, Named.as(source + ".placed"))
            .processValues(() -> new Decode<>(topic, values, unknown), Named.as(read));
    return new Placed<>(decoded, read);
  }

  /**
   * The partition of {@code key} among {@code partitions}: what a Java producer's default
   * partitioner picks for the key's UTF-8 bytes, and so where the app's own records of that key
   * (LLM replies, tool results) arrive.
   */
  public static int partitionOf(String key, int partitions) {
    return partitionOf(key.getBytes(StandardCharsets.UTF_8), partitions);
  }

  /**
   * The same for a key's serialized bytes: the partition a Java producer's default partitioner
   * gives them.
   */
  public static int partitionOf(byte[] keyBytes, int partitions) {
    return Utils.toPositive(Utils.murmur2(keyBytes)) % partitions;
  }

  /** Whether {@code topic} is one of the internal topics records are re-routed through. */
  public static boolean isRerouted(String topic) {
    return topic != null && topic.endsWith(REROUTED_TOPIC_SUFFIX);
  }

  /**
   * Where a re-routed record was produced: the topic, partition and offset its origin headers name.
   */
  public record Origin(String topic, String partition, String offset) {}

  /**
   * Where a record read from {@code readFrom} was produced, if it came through a re-route topic:
   * its origin headers, believed only there, where the app wrote them over whatever the producer
   * sent. Empty for a record read directly.
   */
  public static Optional<Origin> origin(String readFrom, Headers headers) {
    if (!isRerouted(readFrom) || headers == null) {
      return Optional.empty();
    }
    String topic = last(headers, ORIGIN_TOPIC);
    String partition = last(headers, ORIGIN_PARTITION);
    String offset = last(headers, ORIGIN_OFFSET);
    return topic == null || partition == null || offset == null
        ? Optional.empty()
        : Optional.of(new Origin(topic, partition, offset));
  }

  /**
   * The input topic a record was produced to: the one it was read from, or its {@link #origin}'s.
   */
  public static String inputTopic(RecordMetadata where, Headers headers) {
    return origin(where.topic(), headers).map(Origin::topic).orElse(where.topic());
  }

  private static String last(Headers headers, String key) {
    Header h = headers.lastHeader(key);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  /**
   * Where a record belongs: the key it is placed by (its own, or for a record produced without one,
   * its value's key field) and whether it is already on that key's partition.
   */
  record Placement(int partitions, String keyField) {
    /**
     * The key a record is placed by: its own; for one produced without a key, its value's {@code
     * keyField} when the value is a JSON object with that field as a non-blank string; else null
     * (it stays where it is, and is refused there if the pattern needs a key). An empty or blank
     * key counts as none: clients send one for "no key" (kcat {@code -K} with nothing before the
     * delimiter, a producer given {@code key=""}), and no pattern accepts one.
     */
    String keyOf(String key, byte[] value) {
      if (!keyless(key)) {
        return key;
      }
      if (keyField == null || value == null) {
        return null;
      }
      int from = ConfluentFraming.jsonOffset(value);
      try {
        com.fasterxml.jackson.databind.JsonNode field =
            dev.llmstreams.events.Json.reader()
                .readTree(value, from, value.length - from)
                .get(keyField);
        return field != null && field.isTextual() && !field.asText().isBlank()
            ? field.asText()
            : null;
      } catch (java.io.IOException | RuntimeException e) {
        return null; // unreadable: decoded (and dead-lettered) where it is
      }
    }

    /**
     * The key a record moves under, or null when it stays where it arrived: it has no key to be
     * placed by, or is on its own key's partition already. One produced without a key always moves
     * when its value names one, so that it gets the key.
     */
    String moveKey(String key, byte[] value, RecordMetadata where) {
      if (where == null) {
        return null; // not read from a topic: nowhere to move it from
      }
      if (keyless(key)) {
        return keyOf(null, value);
      }
      return partitions == 1 || where.partition() == partitionOf(key, partitions) ? null : key;
    }

    /** Whether a key is absent: null, empty or blank. */
    static boolean keyless(String key) {
      return key == null || key.isBlank();
    }

    /** Whether a record stays where it arrived ({@link #moveKey} has no key for it). */
    boolean stays(String key, byte[] value, RecordMetadata where) {
      return moveKey(key, value, where) == null;
    }
  }

  /** Passes the records that stay on the partition they arrived on. */
  private static final class Stay implements FixedKeyProcessor<String, byte[], byte[]> {
    private final Placement placement;
    private FixedKeyProcessorContext<String, byte[]> context;

    Stay(Placement placement) {
      this.placement = placement;
    }

    @Override
    public void init(FixedKeyProcessorContext<String, byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(FixedKeyRecord<String, byte[]> record) {
      if (placement.stays(record.key(), record.value(), context.recordMetadata().orElse(null))) {
        context.forward(record);
      }
    }
  }

  /**
   * Passes the records that must move to their key's partition, keyed (by their value's key field
   * when produced without one) and with headers saying where they arrived.
   */
  private static final class Move implements Processor<String, byte[], String, byte[]> {
    private final Placement placement;
    private final Counter rerouted;
    private final Counter keyed;
    private ProcessorContext<String, byte[]> context;

    Move(Placement placement, Counter rerouted, Counter keyed) {
      this.placement = placement;
      this.rerouted = rerouted;
      this.keyed = keyed;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(Record<String, byte[]> record) {
      RecordMetadata where = context.recordMetadata().orElse(null);
      String key = placement.moveKey(record.key(), record.value(), where);
      if (key == null) {
        return;
      }
      Headers headers = new RecordHeaders();
      for (Header h : record.headers()) {
        if (!h.key().startsWith("llmstreams.origin.")) {
          // a producer's own origin headers would mislead the dead letters: ours replace them
          headers.add(h);
        }
      }
      headers.add(ORIGIN_TOPIC, where.topic().getBytes(StandardCharsets.UTF_8));
      headers.add(
          ORIGIN_PARTITION, Integer.toString(where.partition()).getBytes(StandardCharsets.UTF_8));
      headers.add(ORIGIN_OFFSET, Long.toString(where.offset()).getBytes(StandardCharsets.UTF_8));
      if (Placement.keyless(record.key())) {
        keyed.increment();
      }
      rerouted.increment();
      context.forward(record.withKey(key).withHeaders(headers));
    }
  }

  /**
   * Decodes a placed record's value with the topic's deserializer; unreadable bytes go to
   * dead-letters as such.
   */
  private static final class Decode<V> implements FixedKeyProcessor<String, byte[], V> {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(KeyedInput.class);
    private static final long WARN_EVERY_MS = 60_000;
    private final String topic;
    private final Deserializer<V> values;
    private final Counter unknown;
    private long lastWarnMs = Long.MIN_VALUE;
    private FixedKeyProcessorContext<String, V> context;

    Decode(String topic, Deserializer<V> values, Counter unknown) {
      this.topic = topic;
      this.values = values;
      this.unknown = unknown;
    }

    @Override
    public void init(FixedKeyProcessorContext<String, V> context) {
      this.context = context;
    }

    @Override
    public void process(FixedKeyRecord<String, byte[]> record) {
      java.util.Map.Entry<V, java.util.List<String>> read;
      try {
        read =
            dev.llmstreams.events.Json.withUnknownFields(
                () -> values.deserialize(topic, record.headers(), record.value()));
      } catch (RuntimeException e) {
        throw new UnreadableRecordException(e);
      }
      if (!read.getValue().isEmpty()) {
        unknown.increment();
        long now = context.currentSystemTimeMs();
        if (lastWarnMs == Long.MIN_VALUE || now - lastWarnMs >= WARN_EVERY_MS) {
          lastWarnMs = now;
          LOG.warn(
              "{}: a record{} has fields its contract does not name, read without them: {};"
                  + " llmstreams_records_unknown_fields_total counts such records (said once a minute)",
              topic,
              context
                  .recordMetadata()
                  .map(m -> " (" + m.topic() + "-" + m.partition() + "@" + m.offset() + ")")
                  .orElse(""),
              read.getValue().stream().map(Decode::printable).collect(Collectors.joining(", ")));
        }
      }
      context.forward(record.withValue(read.getKey()));
    }

    /** A field name as a log line may show it: control characters escaped, at most 64 chars. */
    static String printable(String name) {
      return "'" + Utf8.printable(name.length() > 64 ? name.substring(0, 64) + "…" : name) + "'";
    }
  }
}
