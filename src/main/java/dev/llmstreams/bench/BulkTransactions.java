package dev.llmstreams.bench;

import java.time.Duration;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * What a busy summarizer or specialist does to {@code llm-requests}: a transactional producer that
 * writes a record to every partition, keeps the transaction open for {@code hold}, commits it and
 * opens the next, until closed. A read_committed reader of the topic cannot read past an open
 * transaction's first record, so this shows what the bulk patterns' commit interval costs the
 * requests that share the topic with theirs. The records are tombstones the gateway dead-letters.
 */
final class BulkTransactions implements AutoCloseable {
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Exception failure;

  private BulkTransactions(String bootstrap, String topic, Duration hold) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "bench-bulk-" + UUID.randomUUID());
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    this.thread =
        new Thread(
            () -> {
              try (KafkaProducer<String, String> producer =
                  new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
                producer.initTransactions();
                int partitions = producer.partitionsFor(topic).size();
                while (running) {
                  producer.beginTransaction();
                  for (int i = 0; i < partitions; i++) {
                    producer.send(new ProducerRecord<>(topic, i, "bench-bulk", null));
                  }
                  producer.flush();
                  Thread.sleep(hold.toMillis());
                  producer.commitTransaction();
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } catch (Exception e) {
                failure = e;
              }
            },
            "bench-bulk-transactions");
    thread.setDaemon(true);
  }

  /** Starts holding transactions on {@code topic}, each open for {@code hold}. */
  static BulkTransactions start(String bootstrap, String topic, Duration hold) {
    BulkTransactions b = new BulkTransactions(bootstrap, topic, hold);
    b.thread.start();
    return b;
  }

  @Override
  public void close() {
    running = false;
    try {
      thread.join(30_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (failure != null) {
      throw new IllegalStateException(
          "the bulk transactions beside the bench failed: " + failure, failure);
    }
  }
}
