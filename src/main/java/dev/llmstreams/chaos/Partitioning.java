package dev.llmstreams.chaos;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Where a chaos run puts each record it produces, the way the producers the app meets do: Java's
 * default partitioner (murmur2 of the key), librdkafka's default (CRC32 of the key: kcat and the
 * Python, Go, .NET and Node clients), or a partition the producer picks itself whatever the key
 * (round robin here). With {@link Mode#MIXED} each record draws one of the three from the run's
 * seeded random. A keyed record that is not on murmur2's partition has to be re-routed by the app
 * to the task that holds its key's state; this counts them, per topic and partitioner.
 */
public final class Partitioning {
  /**
   * The {@code --partitioner} of a run: one for every record, or {@link #MIXED}, a draw per record.
   */
  public enum Mode {
    JAVA,
    LIBRDKAFKA,
    EXPLICIT,
    MIXED;

    /** The option's spelling: java, librdkafka, explicit, mixed. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Mode parse(String text) {
      for (Mode m : values()) {
        if (m.label().equalsIgnoreCase(text.strip())) {
          return m;
        }
      }
      throw new IllegalArgumentException(
          "--partitioner must be java, librdkafka, explicit or mixed, not " + text);
    }
  }

  /** What a single record can use. */
  static final List<Mode> PER_RECORD = List.of(Mode.JAVA, Mode.LIBRDKAFKA, Mode.EXPLICIT);

  private final Mode mode;
  private final Map<String, Integer> partitions = new ConcurrentHashMap<>();
  private final Map<String, Integer> nextExplicit = new TreeMap<>();

  /**
   * Per topic, records per partitioner used; the last slot counts those sent off their key's
   * murmur2 partition.
   */
  private final Map<String, long[]> counts = new TreeMap<>();

  private long offKey;

  Partitioning(Mode mode) {
    this.mode = java.util.Objects.requireNonNull(mode, "mode");
  }

  Mode mode() {
    return mode;
  }

  /**
   * librdkafka's default partition of a non-empty key (consistent_random): CRC32 of its bytes mod
   * the partitions.
   */
  static int crc32Partition(byte[] key, int partitions) {
    return dev.llmstreams.bench.LibrdkafkaPartitioner.partition(key, partitions);
  }

  /**
   * The Java producer's default partition of a key: murmur2 of its bytes, made positive, modulo the
   * partitions.
   */
  static int murmur2Partition(byte[] key, int partitions) {
    return dev.llmstreams.bench.LibrdkafkaPartitioner.javaDefault(key, partitions);
  }

  /**
   * The record to send to {@code topic}, on the partition this run's partitioner picks (none, for
   * {@code java}: the producer's own), counted. {@code random} draws the partitioner of a {@code
   * mixed} run (and librdkafka's partition of a record without a key); each thread that sends
   * passes its own, seeded.
   */
  ProducerRecord<byte[], byte[]> record(
      Producer<byte[], byte[]> producer, Random random, String topic, byte[] key, byte[] value) {
    int n = partitions.computeIfAbsent(topic, t -> producer.partitionsFor(t).size());
    Mode used = mode == Mode.MIXED ? PER_RECORD.get(random.nextInt(PER_RECORD.size())) : mode;
    synchronized (this) {
      Integer partition =
          switch (used) {
            // consistent_random: a record without a key (or with an empty one) goes to a random
            // partition
            case LIBRDKAFKA ->
                key == null || key.length == 0 ? random.nextInt(n) : crc32Partition(key, n);
            case EXPLICIT -> nextExplicit.merge(topic, 1, Integer::sum) % n;
            default -> null;
          };
      boolean off = key != null && partition != null && partition != murmur2Partition(key, n);
      long[] c = counts.computeIfAbsent(topic, t -> new long[PER_RECORD.size() + 1]);
      c[PER_RECORD.indexOf(used)]++;
      if (off) {
        c[PER_RECORD.size()]++;
        offKey++;
      }
      return new ProducerRecord<>(topic, partition, key, value);
    }
  }

  /** Keyed records sent to a partition other than murmur2's of their key, so far. */
  synchronized long offKey() {
    return offKey;
  }

  /**
   * Per topic: records per partitioner (java, librdkafka, explicit) and {@code off_key_partition}.
   */
  synchronized Map<String, Map<String, Long>> perTopic() {
    Map<String, Map<String, Long>> out = new TreeMap<>();
    counts.forEach(
        (topic, c) -> {
          Map<String, Long> m = new java.util.LinkedHashMap<>();
          for (int i = 0; i < PER_RECORD.size(); i++) {
            m.put(PER_RECORD.get(i).label(), c[i]);
          }
          m.put("off_key_partition", c[PER_RECORD.size()]);
          out.put(topic, m);
        });
    return out;
  }
}
