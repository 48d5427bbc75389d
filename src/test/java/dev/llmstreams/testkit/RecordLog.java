package dev.llmstreams.testkit;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Everything committed on some topics, as a user would read it (read_committed, from the
 * beginning), collected by a background consumer into one list that tests query while it grows.
 */
public final class RecordLog implements AutoCloseable {
  private final List<ConsumerRecord<byte[], byte[]>> records = new CopyOnWriteArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread thread;

  public RecordLog(KafkaCluster kafka, Collection<String> topics) {
    Properties props = kafka.consumerProps(KafkaCluster.uniqueName("record-log"));
    props.put("max.partition.fetch.bytes", 32 * 1024 * 1024);
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    consumer.subscribe(List.copyOf(topics));
    thread =
        new Thread(
            () -> {
              try (consumer) {
                while (running.get()) {
                  consumer.poll(Duration.ofMillis(100)).forEach(records::add);
                }
              }
            },
            "record-log");
    thread.setDaemon(true);
    thread.start();
  }

  /** Every record read so far, in the order read. */
  public List<ConsumerRecord<byte[], byte[]>> all() {
    return List.copyOf(records);
  }

  public List<ConsumerRecord<byte[], byte[]>> of(String topic) {
    return where(r -> r.topic().equals(topic));
  }

  public List<ConsumerRecord<byte[], byte[]>> where(
      Predicate<ConsumerRecord<byte[], byte[]>> test) {
    return records.stream().filter(test).toList();
  }

  public static String key(ConsumerRecord<byte[], byte[]> r) {
    return r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
  }

  public static String value(ConsumerRecord<byte[], byte[]> r) {
    return r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8);
  }

  /** The last value of a header as UTF-8, or null. */
  public static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    try {
      running.set(false);
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // closing stays short; the caller sees the interrupt
    }
  }
}
