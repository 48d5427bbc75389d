package dev.llmstreams.testkit;

import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The contract on the {@code apache/kafka} image, so the embedded clusters are checked against the
 * real distribution. Reported as skipped where no Docker engine runs.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainerContractTest extends KafkaClusterContractTest {

  @Container private static final ContainerKafkaCluster KAFKA = new ContainerKafkaCluster();

  ContainerContractTest() {
    super(KAFKA);
  }
}
