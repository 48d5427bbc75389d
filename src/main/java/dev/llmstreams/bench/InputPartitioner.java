package dev.llmstreams.bench;

import java.util.List;
import java.util.Locale;

/**
 * How a bench spreads its inputs (goals, documents) over partitions: as a Java producer does by
 * default, or as a librdkafka client does by default ({@link LibrdkafkaPartitioner}). The app must
 * give the same results either way.
 */
public enum InputPartitioner {
  /** The Java producer's default partitioner: murmur2 of the key bytes. */
  JAVA("Java producer's default partitioner (murmur2 of the key bytes)"),
  /**
   * librdkafka's default {@code consistent_random}: CRC-32 of the key bytes, set as the record's
   * partition.
   */
  LIBRDKAFKA(
      "librdkafka's default consistent_random (CRC-32 of the key bytes), as kcat, confluent-kafka and"
          + " node-rdkafka send; a Java producer setting that partition explicitly");

  private final String description;

  InputPartitioner(String description) {
    this.description = description;
  }

  /** The option's and the report's name of it: {@code java} or {@code librdkafka}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  public String description() {
    return description;
  }

  /**
   * The partition to set on a record of these key bytes, or null where the Java producer chooses
   * it.
   */
  Integer explicitPartition(byte[] keyBytes, int partitions) {
    return this == JAVA ? null : LibrdkafkaPartitioner.partition(keyBytes, partitions);
  }

  /** The partition a record of these key bytes lands on. */
  int partition(byte[] keyBytes, int partitions) {
    return this == JAVA
        ? LibrdkafkaPartitioner.javaDefault(keyBytes, partitions)
        : LibrdkafkaPartitioner.partition(keyBytes, partitions);
  }

  /**
   * The value of {@code --partitioner}: {@code java}, {@code librdkafka} or {@code both} (null:
   * both).
   */
  public static List<InputPartitioner> parse(String value) {
    String v = value == null ? "both" : value.strip().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "both" -> List.of(JAVA, LIBRDKAFKA);
      case "java" -> List.of(JAVA);
      case "librdkafka" -> List.of(LIBRDKAFKA);
      default ->
          throw new IllegalArgumentException(
              "--partitioner must be java, librdkafka or both, was '" + value + "'");
    };
  }
}
