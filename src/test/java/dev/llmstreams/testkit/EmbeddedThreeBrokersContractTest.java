package dev.llmstreams.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.testkit.WithKafka.Shape;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;

/** The contract on three brokers and a separate controller, plus its durability settings. */
@WithKafka(shape = Shape.THREE_BROKERS)
class EmbeddedThreeBrokersContractTest extends KafkaClusterContractTest {

  EmbeddedThreeBrokersContractTest(KafkaCluster kafka) {
    super(kafka);
  }

  @Test
  void shouldRunThreeBrokers() {
    assertThat(kafka.brokerCount()).isEqualTo(3);
    assertThat(((EmbeddedKafkaCluster) kafka).testKit().controllers()).hasSize(1);
  }

  @Test
  void shouldReplicateTopicsThreeTimesWithMinIsrTwo() throws Exception {
    String topic = KafkaCluster.uniqueName("contract-replicated");
    kafka.createTopic(topic, 2);

    assertThat(describe(topic).partitions())
        .hasSize(2)
        .allSatisfy(
            partition -> {
              assertThat(partition.replicas()).hasSize(3);
              assertThat(partition.isr()).hasSize(3);
            });
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    Config config = kafka.admin().describeConfigs(Set.of(resource)).all().get().get(resource);
    assertThat(config.get("min.insync.replicas").value()).isEqualTo("2");
  }

  @Test
  void shouldCommitTransactionOnReplicatedTopic() throws Exception {
    String topic = KafkaCluster.uniqueName("contract-replicated-tx");
    kafka.createTopics(topic);

    try (var producer = new KafkaProducer<String, String>(transactionalProps())) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "k", "replicated"));
      producer.commitTransaction();
    }

    try (var consumer =
        new KafkaConsumer<String, String>(
            kafka.consumerProps(KafkaCluster.uniqueName("contract-replicated")))) {
      consumer.assign(List.of(new TopicPartition(topic, 0)));
      assertThat(consumeValues(consumer, 1)).containsExactly("replicated");
    }
    // The coordinator created the transaction log with the production-like settings.
    assertThat(describe("__transaction_state").partitions())
        .allSatisfy(partition -> assertThat(partition.replicas()).hasSize(3));
  }
}
