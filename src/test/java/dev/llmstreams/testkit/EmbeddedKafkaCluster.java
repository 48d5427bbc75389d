package dev.llmstreams.testkit;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.common.test.api.TestKitDefaults;
import org.apache.kafka.metadata.bootstrap.BootstrapMetadata;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real KRaft cluster running inside the test JVM, built on Kafka's own {@link
 * KafkaClusterTestKit}. Transactions (and so Kafka Streams {@code exactly_once_v2}) work on both
 * shapes.
 *
 * <p>Only two shapes are offered. Three <em>combined</em> broker+controller nodes crash in the raft
 * thread and then hang for minutes on close, so the multi-broker shape uses a separate controller.
 */
public final class EmbeddedKafkaCluster implements KafkaCluster, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaCluster.class);

  private final String name;
  private final KafkaClusterTestKit testKit;
  private final Admin admin;

  private EmbeddedKafkaCluster(String name, KafkaClusterTestKit testKit) {
    this.name = name;
    this.testKit = testKit;
    this.admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                testKit.bootstrapServers(),
                AdminClientConfig.CLIENT_ID_CONFIG,
                "testkit-admin-" + name));
  }

  /**
   * One combined broker+controller node. Internal topics (offsets, transaction state, share state)
   * have replication factor 1 and min ISR 1, the first rebalance is not delayed, and topics are
   * never created automatically. Ready in one to four seconds.
   */
  public static EmbeddedKafkaCluster singleNode() {
    Map<String, String> config = commonConfig();
    config.putAll(topicDefaults(1));
    config.put("min.insync.replicas", "1");
    config.put("offsets.topic.replication.factor", "1");
    config.put("transaction.state.log.replication.factor", "1");
    config.put("transaction.state.log.min.isr", "1");
    config.put("share.coordinator.state.topic.replication.factor", "1");
    config.put("share.coordinator.state.topic.min.isr", "1");
    return start(
        "single-node",
        productionNodes().setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build(),
        config);
  }

  /**
   * Three brokers and one separate controller. Topics default to replication factor 3 with min ISR
   * 2, and so do the internal topics, so a test sees the durability settings of production. Ready
   * in about half a second once the broker classes are loaded.
   */
  public static EmbeddedKafkaCluster threeBrokers() {
    Map<String, String> config = commonConfig();
    config.put("min.insync.replicas", "2");
    config.put("offsets.topic.replication.factor", "3");
    config.put("transaction.state.log.replication.factor", "3");
    config.put("transaction.state.log.min.isr", "2");
    config.put("share.coordinator.state.topic.replication.factor", "3");
    config.put("share.coordinator.state.topic.min.isr", "2");
    // Topic-creation defaults belong to the controller; brokers warn when they are given them.
    int controllerId = TestKitDefaults.BROKER_ID_OFFSET + TestKitDefaults.CONTROLLER_ID_OFFSET;
    return start(
        "three-brokers",
        productionNodes()
            .setCombined(false)
            .setNumBrokerNodes(3)
            .setNumControllerNodes(1)
            .setPerServerProperties(Map.of(controllerId, topicDefaults(3)))
            .build(),
        config);
  }

  /**
   * Nodes at the newest production metadata version and feature levels, as a released broker runs.
   */
  private static TestKitNodes.Builder productionNodes() {
    MetadataVersion version = MetadataVersion.latestProduction();
    Map<String, Short> features = new TreeMap<>();
    for (Feature feature : Feature.PRODUCTION_FEATURES) {
      features.put(feature.featureName(), feature.defaultLevel(version));
    }
    return new TestKitNodes.Builder(
        BootstrapMetadata.fromVersions(version, features, "llm-streams testkit"));
  }

  private static Map<String, String> topicDefaults(int replicationFactor) {
    return Map.of(
        "default.replication.factor", Integer.toString(replicationFactor), "num.partitions", "1");
  }

  private static Map<String, String> commonConfig() {
    Map<String, String> config = new LinkedHashMap<>();
    config.put("group.initial.rebalance.delay.ms", "0");
    // Streams groups (group.protocol=streams) alike, with a classic group's floor of 6 s for the
    // session timeout (Kafka's default floor for streams groups is 45 s).
    config.put("group.streams.initial.rebalance.delay.ms", "0");
    config.put("group.streams.min.session.timeout.ms", "6000");
    config.put("group.streams.min.heartbeat.interval.ms", "1000");
    config.put("auto.create.topics.enable", "false");
    // Internal topics with few partitions start faster and are enough for tests.
    config.put("offsets.topic.num.partitions", "1");
    config.put("transaction.state.log.num.partitions", "1");
    config.put("share.coordinator.state.topic.num.partitions", "1");
    return config;
  }

  private static EmbeddedKafkaCluster start(
      String name, TestKitNodes nodes, Map<String, String> config) {
    long startNanos = System.nanoTime();
    KafkaClusterTestKit testKit = null;
    try {
      KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes);
      config.forEach(builder::setConfigProp);
      testKit = builder.build();
      long built = System.nanoTime();
      testKit.format();
      long formatted = System.nanoTime();
      testKit.startup();
      long started = System.nanoTime();
      testKit.waitForReadyBrokers();
      LOG.debug(
          "Cluster {}: build {} ms, format {} ms, startup {} ms, ready {} ms",
          name,
          ms(built - startNanos),
          ms(formatted - built),
          ms(started - formatted),
          ms(System.nanoTime() - started));
      EmbeddedKafkaCluster cluster = new EmbeddedKafkaCluster(name, testKit);
      LOG.info(
          "Started embedded Kafka cluster {} at {} in {} ms",
          name,
          cluster.bootstrapServers(),
          ms(System.nanoTime() - startNanos));
      return cluster;
    } catch (Exception e) {
      if (testKit != null) {
        closeQuietly(testKit);
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException("Could not start embedded Kafka cluster " + name, e);
    }
  }

  @Override
  public String bootstrapServers() {
    return testKit.bootstrapServers();
  }

  @Override
  public Admin admin() {
    return admin;
  }

  @Override
  public int brokerCount() {
    return testKit.brokers().size();
  }

  /** The underlying test kit, for tests that restart or inspect brokers. */
  public KafkaClusterTestKit testKit() {
    return testKit;
  }

  @Override
  public void close() {
    long startNanos = System.nanoTime();
    admin.close();
    closeQuietly(testKit);
    LOG.info("Closed embedded Kafka cluster {} in {} ms", name, ms(System.nanoTime() - startNanos));
  }

  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  private static void closeQuietly(KafkaClusterTestKit testKit) {
    try {
      testKit.close();
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("Could not close embedded Kafka cluster cleanly", e);
    }
  }

  @Override
  public String toString() {
    return "EmbeddedKafkaCluster[" + name + ", " + bootstrapServers() + "]";
  }
}
