package dev.llmstreams.testkit;

import dev.llmstreams.events.Json;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Every committed record of a topic, to its end when asked, as a user reads it. */
public final class CommittedReads {
  private CommittedReads() {}

  public static void each(
      KafkaCluster kafka, String topic, Consumer<ConsumerRecord<byte[], byte[]>> each) {
    Properties props = new Properties();
    props.putAll(kafka.consumerProps(KafkaCluster.uniqueName("committed-read")));
    props.put("isolation.level", "read_committed");
    props.put("max.partition.fetch.bytes", 16 * 1024 * 1024);
    // Closing the consumer closes its fetch session with one last fetch, which the broker holds for
    // up to fetch.max.wait.ms (500 ms by default) when nothing new comes: a read cost up to half a
    // second more on close, and tests repeat these reads in await loops. The read below stops at
    // the end offsets taken when it starts, which are all there to fetch, so a short wait changes
    // nothing that is read.
    props.put("fetch.max.wait.ms", 10);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      consumer
          .partitionsFor(topic)
          .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          each.accept(r);
        }
      }
    }
  }

  /** Every committed value of {@code topic}, read as {@code type}, in each partition's order. */
  public static <V> List<V> values(KafkaCluster kafka, String topic, Class<V> type) {
    List<V> out = new ArrayList<>();
    eachValue(kafka, topic, type, out::add);
    return out;
  }

  /** Gives {@code each} every committed value of {@code topic}, read as {@code type}. */
  public static <V> void eachValue(
      KafkaCluster kafka, String topic, Class<V> type, Consumer<V> each) {
    each(
        kafka,
        topic,
        r -> {
          V value;
          try {
            value = Json.readerFor(type).readValue(r.value());
          } catch (IOException e) {
            throw new AssertionError(topic + ": " + e.getMessage(), e);
          }
          each.accept(value);
        });
  }

  /** The number of committed records of {@code topic}. */
  public static long count(KafkaCluster kafka, String topic) {
    long[] n = {0};
    each(kafka, topic, r -> n[0]++);
    return n[0];
  }
}
