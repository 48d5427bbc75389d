package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The commands' Kafka clients wait 15 s for a broker by default, and a user's {@code
 * kafka.client.*} timeouts win; what keeps writes safe (acks=all, idempotence) does not give way.
 */
class ClientsTest {
  @Test
  void waitsFifteenSecondsForABrokerUnlessTheUserSaysOtherwise() {
    AppConfig plain = AppConfig.of(Map.of());
    assertThat(Clients.apiTimeout(plain)).isEqualTo(Duration.ofSeconds(15));
    assertThat(Clients.producerProperties(plain, Map.of()))
        .containsEntry(ProducerConfig.MAX_BLOCK_MS_CONFIG, 15_000)
        .containsEntry(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
    assertThat(Clients.adminProperties(plain))
        .containsEntry(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000)
        .containsEntry(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);

    AppConfig slow =
        AppConfig.of(
            Map.of(
                "kafka.client.default.api.timeout.ms", "90000",
                "kafka.client.max.block.ms", "120000",
                "kafka.client.request.timeout.ms", "70000",
                "kafka.client.acks", "0",
                "kafka.client.enable.idempotence", "false"));
    assertThat(Clients.apiTimeout(slow)).isEqualTo(Duration.ofSeconds(90));
    Map<String, Object> producer = Clients.producerProperties(slow, Map.of());
    assertThat(producer)
        .containsEntry(ProducerConfig.MAX_BLOCK_MS_CONFIG, "120000")
        .containsEntry(ProducerConfig.ACKS_CONFIG, "all")
        .containsEntry(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true)
        .doesNotContainKey(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG);
    // The client accepts the combination: a request timeout over our 60 s delivery timeout would
    // have been refused at construction.
    new KafkaProducer<>(producer, new ByteArraySerializer(), new ByteArraySerializer()).close();
    Map<String, Object> admin = Clients.adminProperties(slow);
    assertThat(admin).containsEntry(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "90000");
    assertThat(admin).containsEntry(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "70000");

    AppConfig quick = AppConfig.of(Map.of("kafka.client.default.api.timeout.ms", "4000"));
    assertThat(Clients.adminProperties(quick))
        .containsEntry(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 4_000);
  }
}
