package dev.llmstreams.specialist;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.app.StreamsSettings;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

class SpecialistModuleTest {
  private static final int EIGHT_MIB = 8 * 1024 * 1024;

  @Test
  void shouldMoveRecordsAsLargeAsTheModelsTopicAllows() {
    TopicCatalog catalog = TopicCatalog.load();
    AppConfig config = AppConfig.of(Map.of());
    assertThat(catalog.spec(TopicRole.SPECIALIST_MODELS).configs()).containsEntry("max.message.bytes",
        Integer.toString(EIGHT_MIB));
    Properties props = StreamsSettings.forPattern(config, catalog, "specialist", new SimpleMeterRegistry());
    props.putAll(new SpecialistModule().streamsOverrides(config));
    StreamsConfig streams = new StreamsConfig(props);
    // The global consumer reads specialist-models; the trainer's producer writes it.
    assertThat((Integer) streams.getGlobalConsumerConfigs("c").get(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG))
        .isGreaterThanOrEqualTo(EIGHT_MIB);
    assertThat((Integer) streams.getProducerConfigs("p").get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG))
        .isGreaterThanOrEqualTo(EIGHT_MIB);
    assertThat(props.get(StreamsConfig.topicPrefix("max.message.bytes"))).isEqualTo(EIGHT_MIB);
    assertThat(props.get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG))
        .isEqualTo(config.getLong(AppConfig.INTERACTIVE_COMMIT_INTERVAL_MS));
  }

  @Test
  void shouldServeNoModelUntilTheModelsAreWiredIn() {
    SpecialistModule module = new SpecialistModule();
    module.topology(TopicCatalog.load(), AppConfig.of(Map.of()), new SimpleMeterRegistry());
    var record = TestBayesClassifier.train("banking77", "v1", 0.5, Intents.LABELS, new Intents(1).take(8)).record();
    assertThat(module.currentModel().offer(record, "test")).isFalse();
    assertThat(module.currentModel().get()).isNull();
    module.afterClose();
  }
}
