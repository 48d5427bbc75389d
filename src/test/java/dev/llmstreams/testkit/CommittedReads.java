package dev.llmstreams.testkit;

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
}
