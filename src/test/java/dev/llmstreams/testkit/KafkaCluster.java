package dev.llmstreams.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.awaitility.Awaitility;

/**
 * A running Kafka cluster that a test can talk to: an in-JVM {@link EmbeddedKafkaCluster} or a
 * Testcontainers {@link ContainerKafkaCluster}.
 *
 * <p>Clusters may be shared between test classes (see {@link WithKafka}), so a test must name its
 * topics, consumer groups, transactional ids and Streams application ids uniquely: use {@link
 * #uniqueName(String)}.
 */
public interface KafkaCluster {

  /** How long {@link #createTopics} waits for every partition to have a leader and a full ISR. */
  Duration TOPIC_READY_TIMEOUT = Duration.ofSeconds(30);

  /** The {@code bootstrap.servers} value for clients. */
  String bootstrapServers();

  /** A shared admin client; it belongs to the cluster and is closed with it, so never close it. */
  Admin admin();

  /** The number of brokers that serve clients. */
  int brokerCount();

  /**
   * Creates topics with one partition each and the broker's default replication factor, and waits
   * until every partition has a leader and all replicas in sync.
   */
  default void createTopics(String... names) {
    createTopics(Arrays.stream(names).map(name -> newTopic(name, 1)).toArray(NewTopic[]::new));
  }

  /** Creates one topic with the broker's default replication factor and waits until it is ready. */
  default void createTopic(String name, int partitions) {
    createTopics(newTopic(name, partitions));
  }

  /**
   * Creates topics as described (compaction, replication, configs) and waits until they are ready.
   */
  default void createTopics(NewTopic... topics) {
    List<NewTopic> list = List.of(topics);
    List<String> names = list.stream().map(NewTopic::name).toList();
    try {
      admin().createTopics(list).all().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while creating topics " + names, e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("Could not create topics " + names, e.getCause());
    }
    Awaitility.await("topics " + names + " ready")
        .atMost(TOPIC_READY_TIMEOUT)
        .pollInterval(Duration.ofMillis(50))
        .ignoreExceptions()
        .until(
            () ->
                admin().describeTopics(names).allTopicNames().get().values().stream()
                    .allMatch(KafkaCluster::isReady));
  }

  /**
   * Producer settings: bootstrap servers, {@code acks=all}, idempotence and String serializers. Add
   * {@code transactional.id} (unique per test) for a transactional producer.
   */
  default Properties producerProps() {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    return props;
  }

  /**
   * Consumer settings for {@code group}: {@code read_committed}, {@code earliest}, no auto-commit
   * and String deserializers.
   */
  default Properties consumerProps(String group) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    return props;
  }

  /**
   * Kafka Streams settings: bootstrap servers, {@code application.id}, {@code state.dir}, {@code
   * exactly_once_v2}, String default serdes, explicit naming of internal topics and stores
   * enforced, and the processing exception handler applied to global threads too. The application
   * id must be unique ({@link #uniqueName(String)}) and the state directory private to the test
   * (JUnit's {@code @TempDir}).
   */
  @SuppressWarnings(
      "deprecation") // processing.exception.handler.global.enabled: see StreamsSettings
  default Properties streamsProps(String applicationId, Path stateDir) {
    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, true);
    // The 4.x default warns on every start; enabling it is the behaviour Kafka recommends.
    props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    return props;
  }

  /**
   * {@code prefix} followed by a random suffix: a topic, group or application id no other test
   * uses.
   */
  static String uniqueName(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static NewTopic newTopic(String name, int partitions) {
    return new NewTopic(name, Optional.of(partitions), Optional.empty());
  }

  private static boolean isReady(TopicDescription topic) {
    return topic.partitions().stream().allMatch(KafkaCluster::isReady);
  }

  private static boolean isReady(TopicPartitionInfo partition) {
    return partition.leader() != null
        && !partition.leader().isEmpty()
        && partition.isr().size() == partition.replicas().size();
  }
}
