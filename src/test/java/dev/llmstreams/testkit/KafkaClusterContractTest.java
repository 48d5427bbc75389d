package dev.llmstreams.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link KafkaCluster} must do for our tests: create topics, carry records, and honour
 * transactions for {@code read_committed} consumers and Kafka Streams {@code exactly_once_v2}. Each
 * subclass runs it against one kind of cluster.
 */
abstract class KafkaClusterContractTest {

  private static final Duration CONSUME_TIMEOUT = Duration.ofSeconds(30);

  protected final KafkaCluster kafka;

  protected KafkaClusterContractTest(KafkaCluster kafka) {
    this.kafka = kafka;
  }

  @Test
  void shouldCreateTopicsReadyForUse() throws Exception {
    String single = KafkaCluster.uniqueName("contract-single");
    String wide = KafkaCluster.uniqueName("contract-wide");

    kafka.createTopics(single);
    kafka.createTopic(wide, 3);

    assertThat(kafka.admin().listTopics().names().get()).contains(single, wide);
    var described = kafka.admin().describeTopics(List.of(single, wide)).allTopicNames().get();
    assertThat(described.get(single).partitions()).hasSize(1);
    assertThat(described.get(wide).partitions())
        .hasSize(3)
        .allSatisfy(partition -> assertThat(partition.leader()).isNotNull());
  }

  @Test
  void shouldDeliverProducedRecordsToSubscribedConsumer() throws Exception {
    String topic = KafkaCluster.uniqueName("contract-plain");
    kafka.createTopic(topic, 2);

    try (var producer = new KafkaProducer<String, String>(kafka.producerProps())) {
      for (int i = 0; i < 10; i++) {
        producer.send(new ProducerRecord<>(topic, "key-" + i, "value-" + i)).get();
      }
    }

    try (var consumer =
        new KafkaConsumer<String, String>(
            kafka.consumerProps(KafkaCluster.uniqueName("contract-group")))) {
      consumer.subscribe(List.of(topic));
      assertThat(consumeValues(consumer, 10))
          .containsExactlyInAnyOrder(
              "value-0", "value-1", "value-2", "value-3", "value-4", "value-5", "value-6",
              "value-7", "value-8", "value-9");
      consumer.commitSync();
    }
  }

  @Test
  void shouldShowCommittedAndHideAbortedTransactionsFromReadCommittedConsumer() {
    String topic = KafkaCluster.uniqueName("contract-tx");
    kafka.createTopics(topic);

    try (var producer = new KafkaProducer<String, String>(transactionalProps())) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "k", "committed-1"));
      producer.commitTransaction();

      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "k", "aborted"));
      producer.flush();
      producer.abortTransaction();

      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "k", "committed-2"));
      producer.commitTransaction();
    }

    // committed-2 follows the aborted record, so once it arrives the aborted one has been passed.
    try (var consumer =
        new KafkaConsumer<String, String>(
            kafka.consumerProps(KafkaCluster.uniqueName("contract-rc")))) {
      consumer.assign(List.of(new TopicPartition(topic, 0)));
      assertThat(consumeValues(consumer, 2)).containsExactly("committed-1", "committed-2");
    }

    Properties uncommitted = kafka.consumerProps(KafkaCluster.uniqueName("contract-ru"));
    uncommitted.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
    try (var consumer = new KafkaConsumer<String, String>(uncommitted)) {
      consumer.assign(List.of(new TopicPartition(topic, 0)));
      assertThat(consumeValues(consumer, 3))
          .containsExactly("committed-1", "aborted", "committed-2");
    }
  }

  @Test
  void shouldKeepOpenTransactionInvisibleUntilCommitted() {
    String topic = KafkaCluster.uniqueName("contract-open-tx");
    kafka.createTopics(topic);

    try (var producer = new KafkaProducer<String, String>(transactionalProps());
        var consumer =
            new KafkaConsumer<String, String>(
                kafka.consumerProps(KafkaCluster.uniqueName("contract-open")))) {
      consumer.assign(List.of(new TopicPartition(topic, 0)));
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "k", "pending"));
      producer.flush();

      // The last stable offset stays before the open transaction, so the consumer's position cannot
      // move past it.
      consumer.poll(Duration.ofMillis(200));
      assertThat(consumer.position(new TopicPartition(topic, 0))).isZero();

      producer.commitTransaction();
      assertThat(consumeValues(consumer, 1)).containsExactly("pending");
    }
  }

  @Test
  void shouldRunKafkaStreamsWithExactlyOnceV2(@TempDir Path stateDir) {
    String input = KafkaCluster.uniqueName("contract-streams-in");
    String output = KafkaCluster.uniqueName("contract-streams-out");
    kafka.createTopics(input, output);
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.<String, String>as("contract.source"))
        .mapValues(value -> value.toUpperCase(Locale.ROOT), Named.as("contract.upper-case"))
        .to(output, Produced.as("contract.sink"));

    try (var producer = new KafkaProducer<String, String>(kafka.producerProps())) {
      producer.send(new ProducerRecord<>(input, "k1", "exactly"));
      producer.send(new ProducerRecord<>(input, "k2", "once"));
    }
    try (var streams =
            new KafkaStreams(
                builder.build(),
                kafka.streamsProps(KafkaCluster.uniqueName("contract-app"), stateDir));
        var consumer =
            new KafkaConsumer<String, String>(
                kafka.consumerProps(KafkaCluster.uniqueName("contract-streams")))) {
      streams.start();
      consumer.assign(List.of(new TopicPartition(output, 0)));
      // Output of an exactly-once task is transactional: read_committed sees it only once
      // committed.
      assertThat(consumeValues(consumer, 2)).containsExactly("EXACTLY", "ONCE");
      streams.close(Duration.ofSeconds(10));
    }
  }

  /** Producer settings with a transactional id no other test uses. */
  protected Properties transactionalProps() {
    Properties props = kafka.producerProps();
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, KafkaCluster.uniqueName("contract-tx-id"));
    return props;
  }

  /**
   * Polls until {@code count} records arrived (failing after a timeout) and returns their values.
   */
  protected static List<String> consumeValues(KafkaConsumer<String, String> consumer, int count) {
    List<String> values = new ArrayList<>();
    await("" + count + " records")
        .atMost(CONSUME_TIMEOUT)
        .pollInterval(Duration.ZERO)
        .pollDelay(Duration.ZERO)
        .until(
            () -> {
              for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
                values.add(record.value());
              }
              return values.size() >= count;
            });
    return values;
  }

  /** The partitions of {@code topic} as the cluster describes them. */
  protected TopicDescription describe(String topic) throws Exception {
    return kafka.admin().describeTopics(Set.of(topic)).allTopicNames().get().get(topic);
  }
}
