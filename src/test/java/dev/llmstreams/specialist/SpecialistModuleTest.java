package dev.llmstreams.specialist;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.StreamsSettings;
import dev.llmstreams.runtime.text.EncoderModel;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.SgdRecipe;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
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
    assertThat(catalog.spec(TopicRole.SPECIALIST_MODELS).configs())
        .containsEntry("max.message.bytes", Integer.toString(EIGHT_MIB));
    Properties props =
        StreamsSettings.forPattern(config, catalog, "specialist", new SimpleMeterRegistry());
    props.putAll(new SpecialistModule().streamsOverrides(config));
    StreamsConfig streams = new StreamsConfig(props);
    // The global consumer reads specialist-models; the trainer's producer writes it.
    assertThat(
            (Integer)
                streams
                    .getGlobalConsumerConfigs("c")
                    .get(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG))
        .isGreaterThanOrEqualTo(EIGHT_MIB);
    assertThat(
            (Integer) streams.getProducerConfigs("p").get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG))
        .isGreaterThanOrEqualTo(EIGHT_MIB);
    assertThat(props.get(StreamsConfig.topicPrefix("max.message.bytes"))).isEqualTo(EIGHT_MIB);
    assertThat(props.get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG))
        .as("a high-volume stream: the common interval")
        .isEqualTo(config.getLong(AppConfig.COMMIT_INTERVAL_MS));
  }

  @Test
  void shouldServeTheModelsOfThisBuildAndRetrainWithTheRecipeOfTheModelInService() {
    List<LabeledText> data =
        LabeledData.classpath(LabeledData.BANKING77_TRAIN).stream()
            .filter(e -> e.label().startsWith("card_"))
            .toList();
    TrainingOptions hashed = TrainingOptions.defaults().withKind(ModelKind.HASHED);
    var first =
        ModelTrainer.train("banking77", data.subList(0, data.size() / 2), hashed, step -> {});

    SpecialistModule module = new SpecialistModule();
    module.topology(TopicCatalog.load(), AppConfig.of(Map.of()), new SimpleMeterRegistry());
    assertThat(module.currentModel().offer(first.record(), "test")).isTrue();
    assertThat(module.currentModel().get().version()).isEqualTo(first.record().version());
    var foreign =
        TestBayesClassifier.train(
                "banking77", "v-bayes", 0.5, Intents.LABELS, new Intents(1).take(8))
            .record();
    assertThat(module.currentModel().offer(foreign, "test"))
        .as("a format this build does not know")
        .isFalse();
    assertThat(module.currentModel().get().version()).isEqualTo(first.record().version());

    var candidate = SpecialistModule.modelTrainer("banking77").retrain(data, first.record());
    assertThat(candidate.record().name()).isEqualTo("banking77");
    assertThat(candidate.record().format())
        .as("the recipe of the model in service")
        .isEqualTo(first.record().format());
    assertThat(candidate.record().version()).isNotEqualTo(first.record().version());
    assertThat(candidate.model().predict("my new card has still not arrived").label())
        .isEqualTo("card_arrival");
    module.afterClose();
  }

  @Test
  void shouldRetrainWithTheEncoderOfTheModelInService() {
    List<LabeledText> all = LabeledData.classpath(LabeledData.BANKING77_TRAIN);
    List<LabeledText> data =
        List.of("card_arrival", "exchange_rate", "lost_or_stolen_phone").stream()
            .flatMap(l -> all.stream().filter(e -> e.label().equals(l)).limit(12))
            .toList();
    TrainingOptions bge =
        TrainingOptions.defaults()
            .withKind(ModelKind.EMBEDDING)
            .withFolds(0)
            .withEmbedding(new SgdRecipe(5, TrainingOptions.EMBEDDING_RECIPE.learningRate(), 1e-4))
            .withEncoder(EncoderModel.BGE_SMALL);
    var first = ModelTrainer.train("tiny", data.subList(0, 30), bge, step -> {});

    var candidate = SpecialistModule.modelTrainer("tiny").retrain(data, first.record());

    assertThat(TrainingOptions.fromJson(candidate.record().config())).isEqualTo(bge);
    assertThat(candidate.model().predict("my new card has still not arrived").label())
        .isEqualTo("card_arrival");
  }
}
