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

  /**
   * How long a command waits for a broker that does not answer, unless {@code
   * kafka.client.default.api.timeout.ms} (or, for a producer, {@code kafka.client.max.block.ms})
   * says otherwise: a command should fail in seconds, not a client's default minute.
   */
  static final int COMMAND_TIMEOUT_MS = 15_000;

  static Admin admin(AppConfig config) {
    return Admin.create(adminProperties(config));
  }

  static Map<String, Object> adminProperties(AppConfig config) {
    Map<String, Object> props = new HashMap<>(config.clientProperties());
    props.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, COMMAND_TIMEOUT_MS);
    if (!props.containsKey(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG)) {
      // under the API timeout, so that one retry fits; a user's API timeout sets the pace
      props.put(
          AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
          Math.min(10_000, intOf(props.get(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG))));
    }
    return props;
  }

  /**
   * How long {@code tail} and the other readers wait for a topic's partitions: the user's {@code
   * kafka.client.default.api.timeout.ms}, else {@link #COMMAND_TIMEOUT_MS}.
   */
  static java.time.Duration apiTimeout(AppConfig config) {
    Object set = config.clientProperties().get(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
    return java.time.Duration.ofMillis(set == null ? COMMAND_TIMEOUT_MS : intOf(set));
  }

  private static int intOf(Object value) {
    return value instanceof Number n ? n.intValue() : Integer.parseInt(value.toString().trim());
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
    return new KafkaProducer<>(
        producerProperties(config, more), new ByteArraySerializer(), new ByteArraySerializer());
  }

  /**
   * A producer's settings: every write acknowledged by all in-sync replicas, idempotent, whatever
   * the configuration says; waits that a {@code kafka.client.*} setting may lengthen or shorten.
   */
  static Map<String, Object> producerProperties(AppConfig config, Map<String, Object> more) {
    Map<String, Object> props = new HashMap<>(config.clientProperties());
    props.putAll(more);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, COMMAND_TIMEOUT_MS);
    if (!props.containsKey(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG)
        && !props.containsKey(ProducerConfig.LINGER_MS_CONFIG)) {
      // the client's check needs delivery.timeout.ms >= linger.ms + request.timeout.ms: leave the
      // client's own default when a user sets either
      props.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
    }
    props.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, StreamsSettings.MAX_REQUEST_BYTES);
    return props;
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
