package dev.llmstreams.app;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.StreamsSettings;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Plain Kafka clients for the CLI, with the same connection and security settings as the app. */
final class Clients {
  private Clients() {}

  static Admin admin(AppConfig config) {
    Map<String, Object> props = new HashMap<>(config.clientProperties());
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    return Admin.create(props);
  }

  static KafkaProducer<byte[], byte[]> producer(AppConfig config) {
    return producer(config, Map.of());
  }

  /**
   * A producer whose writes commit together or not at all ({@code transactional.id}); call {@code
   * initTransactions} first.
   */
  static KafkaProducer<byte[], byte[]> transactionalProducer(
      AppConfig config, String transactionalId) {
    return producer(config, Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId));
  }

  private static KafkaProducer<byte[], byte[]> producer(
      AppConfig config, Map<String, Object> more) {
    Map<String, Object> props = new HashMap<>(config.clientProperties());
    props.putAll(more);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 15_000);
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, StreamsSettings.MAX_REQUEST_BYTES);
    return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /** A group-less consumer that sees committed data only. */
  static KafkaConsumer<byte[], byte[]> committedReader(AppConfig config) {
    return committedReader(config, "llm-streams-tail-");
  }

  /** A group-less consumer that sees committed data only, its client id starting with a name. */
  static KafkaConsumer<byte[], byte[]> committedReader(AppConfig config, String clientIdPrefix) {
    Map<String, Object> props = new HashMap<>(config.clientProperties());
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientIdPrefix + UUID.randomUUID());
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, StreamsSettings.MAX_REQUEST_BYTES);
    // Closing a consumer closes its fetch session with one last fetch, which the broker holds for
    // fetch.max.wait.ms (500 ms by default) when nothing new comes: every command that reads and
    // closes paid half a second a reader. Records still come as soon as they are there; an idle
    // reader asks ten times a second. A kafka.client.fetch.max.wait.ms setting wins.
    props.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, READER_FETCH_MAX_WAIT_MS);
    return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /** How long the broker may hold a committed reader's fetch when there is nothing new. */
  static final int READER_FETCH_MAX_WAIT_MS = 100;
}
