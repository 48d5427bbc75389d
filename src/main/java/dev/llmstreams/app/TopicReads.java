package dev.llmstreams.app;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads a whole topic, or the part of it written since a time, to its end as it was when the read
 * started: what commands that look at recorded traffic (the promotion gate of {@code train
 * --publish}, {@code replay}) need. The consumer should read committed data only and have no group
 * ({@link Clients#committedReader}).
 */
final class TopicReads {
  private static final Duration POLL = Duration.ofMillis(500);

  private TopicReads() {}

  /** Every record of {@code topic}, oldest first per partition. */
  static void all(
      KafkaConsumer<byte[], byte[]> consumer,
      String topic,
      Consumer<ConsumerRecord<byte[], byte[]>> each) {
    read(consumer, topic, consumer::seekToBeginning, each);
  }

  /**
   * The records of {@code topic} whose timestamp is at or after {@code since} (null: from the
   * beginning).
   */
  static void since(
      KafkaConsumer<byte[], byte[]> consumer,
      String topic,
      Instant since,
      Consumer<ConsumerRecord<byte[], byte[]>> each) {
    if (since == null) {
      all(consumer, topic, each);
      return;
    }
    read(
        consumer,
        topic,
        partitions -> {
          Map<TopicPartition, Long> at = new HashMap<>();
          partitions.forEach(p -> at.put(p, since.toEpochMilli()));
          Map<TopicPartition, OffsetAndTimestamp> offsets = consumer.offsetsForTimes(at);
          List<TopicPartition> none = new ArrayList<>();
          offsets.forEach(
              (p, o) -> {
                if (o == null) {
                  none.add(p);
                } else {
                  consumer.seek(p, o.offset());
                }
              });
          if (!none.isEmpty()) {
            consumer.seekToEnd(none); // an empty list would mean every assigned partition
          }
        },
        each);
  }

  /** Assigns every partition of {@code topic} to the consumer; returns them. */
  static List<TopicPartition> assign(KafkaConsumer<byte[], byte[]> consumer, String topic) {
    List<TopicPartition> partitions = new ArrayList<>();
    for (PartitionInfo p : consumer.partitionsFor(topic)) {
      partitions.add(new TopicPartition(topic, p.partition()));
    }
    consumer.assign(partitions);
    return partitions;
  }

  private static void read(
      KafkaConsumer<byte[], byte[]> consumer,
      String topic,
      Consumer<List<TopicPartition>> seek,
      Consumer<ConsumerRecord<byte[], byte[]>> each) {
    List<TopicPartition> partitions = assign(consumer, topic);
    seek.accept(partitions);
    Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
    while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
        if (r.offset() < end.get(new TopicPartition(r.topic(), r.partition()))) {
          each.accept(r);
        }
      }
    }
    consumer.unsubscribe();
  }
}
