package dev.llmstreams.bench;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * The partition librdkafka's default partitioner puts a keyed record on, so a Java producer can
 * place records as kcat, confluent-kafka (Python, Go, .NET) and node-rdkafka do by default.
 *
 * <p>librdkafka's default {@code partitioner} is {@code consistent_random} ({@code
 * rd_kafka_msg_partitioner_consistent_random} in {@code src/rdkafka_msg.c}): a record with an empty
 * or null key goes to a random partition, any other to {@code rd_crc32(key, keylen) %
 * partition_cnt}, the standard IEEE CRC-32 of the key bytes ({@link CRC32}) taken as unsigned. Java
 * producers hash the same bytes with murmur2 instead ({@link #javaDefault}), so the two put most
 * keys on different partitions.
 */
public final class LibrdkafkaPartitioner {
  private LibrdkafkaPartitioner() {}

  /**
   * librdkafka's {@code consistent_random} partition of a non-empty key: CRC-32(key bytes) mod
   * partitions.
   */
  public static int partition(byte[] keyBytes, int partitions) {
    if (keyBytes == null || keyBytes.length == 0) {
      throw new IllegalArgumentException(
          "librdkafka sends records without a key to a random partition");
    }
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be at least 1, was " + partitions);
    }
    CRC32 crc = new CRC32();
    crc.update(keyBytes);
    return (int) (crc.getValue() % partitions);
  }

  /** The same for a String key sent as UTF-8 bytes (as kcat and the String serializers send it). */
  public static int partition(String key, int partitions) {
    return partition(key.getBytes(StandardCharsets.UTF_8), partitions);
  }

  /**
   * The partition a Java producer's default partitioner gives the key bytes: murmur2, as the app
   * places keys.
   */
  public static int javaDefault(byte[] keyBytes, int partitions) {
    return dev.llmstreams.topics.KeyedInput.partitionOf(keyBytes, partitions);
  }
}
