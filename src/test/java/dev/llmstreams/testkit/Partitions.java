package dev.llmstreams.testkit;

import dev.llmstreams.topics.KeyedInput;

/** Where Java's default partitioner puts a key, and partitions where it does not. */
public final class Partitions {
  private Partitions() {}

  /**
   * murmur2 of the key's UTF-8 bytes, modulo {@code partitions}: the partition Java's default
   * partitioner picks.
   */
  public static int murmur2(String key, int partitions) {
    return KeyedInput.partitionOf(key, partitions);
  }

  /**
   * A partition that is not {@link #murmur2}'s: one of the other {@code partitions - 1}, chosen by
   * {@code salt}, so a producer that varies the salt scatters one key's records over every wrong
   * partition.
   */
  public static int elsewhere(String key, int partitions, int salt) {
    if (partitions < 2) {
      throw new IllegalArgumentException(
          "a topic with " + partitions + " partition has no wrong partition");
    }
    return (murmur2(key, partitions) + 1 + Math.floorMod(salt, partitions - 1)) % partitions;
  }
}
