package dev.llmstreams.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The contract on the JVM-wide shared single node, plus the extension's injection points. */
@WithKafka
class EmbeddedSingleNodeContractTest extends KafkaClusterContractTest {

  private static KafkaCluster fromBeforeAll;
  private KafkaCluster fromBeforeEach;

  EmbeddedSingleNodeContractTest(KafkaCluster kafka) {
    super(kafka);
  }

  @BeforeAll
  static void captureCluster(KafkaCluster kafka) {
    fromBeforeAll = kafka;
  }

  @BeforeEach
  void captureClusterPerTest(KafkaCluster kafka) {
    fromBeforeEach = kafka;
  }

  @Test
  void shouldInjectTheSameClusterEverywhere(KafkaCluster inTest, EmbeddedKafkaCluster embedded) {
    assertThat(inTest)
        .isSameAs(kafka)
        .isSameAs(fromBeforeAll)
        .isSameAs(fromBeforeEach)
        .isSameAs(embedded);
  }

  @Test
  void shouldRunOneCombinedNode() {
    assertThat(kafka.brokerCount()).isEqualTo(1);
    assertThat(((EmbeddedKafkaCluster) kafka).testKit().controllers()).hasSize(1);
  }
}
