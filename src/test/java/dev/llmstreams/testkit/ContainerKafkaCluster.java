package dev.llmstreams.testkit;

import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.lifecycle.Startable;
import org.testcontainers.utility.DockerImageName;

/**
 * One combined Kafka node in Docker ({@code apache/kafka}), for checking that the embedded cluster
 * behaves like the real distribution. Use it as a Testcontainers {@code @Container} field on a
 * class annotated {@code @Testcontainers(disabledWithoutDocker = true)}, so the class is skipped
 * where no Docker engine runs. Nothing touches Docker before {@link #start()}.
 *
 * <p>The image is {@value #DEFAULT_IMAGE} unless the system property {@value #IMAGE_PROPERTY} names
 * another.
 */
public final class ContainerKafkaCluster implements KafkaCluster, Startable {

  public static final String DEFAULT_IMAGE = "apache/kafka:4.1.0";
  public static final String IMAGE_PROPERTY = "llmstreams.test.kafka-image";

  private final DockerImageName image;
  private KafkaContainer container;
  private Admin admin;

  public ContainerKafkaCluster() {
    this(DockerImageName.parse(System.getProperty(IMAGE_PROPERTY, DEFAULT_IMAGE)));
  }

  public ContainerKafkaCluster(DockerImageName image) {
    this.image = image;
  }

  @Override
  public synchronized void start() {
    if (container != null) {
      return;
    }
    KafkaContainer started =
        new KafkaContainer(image)
            // The container's defaults already cover offsets and transaction state (RF 1, min ISR
            // 1).
            .withEnv("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", "1")
            .withEnv("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1")
            .withEnv("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
            .withEnv("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    started.start();
    container = started;
    admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                started.getBootstrapServers(),
                AdminClientConfig.CLIENT_ID_CONFIG,
                "testkit-admin-container"));
  }

  @Override
  public synchronized void stop() {
    if (admin != null) {
      admin.close();
      admin = null;
    }
    if (container != null) {
      container.stop();
      container = null;
    }
  }

  @Override
  public String bootstrapServers() {
    return running().getBootstrapServers();
  }

  @Override
  public synchronized Admin admin() {
    running();
    return admin;
  }

  @Override
  public int brokerCount() {
    running();
    return 1;
  }

  private synchronized KafkaContainer running() {
    if (container == null) {
      throw new IllegalStateException("Kafka container is not started");
    }
    return container;
  }
}
