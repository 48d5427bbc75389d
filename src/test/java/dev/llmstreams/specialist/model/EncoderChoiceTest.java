package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.runtime.text.EncoderModel;
import dev.llmstreams.runtime.text.SentenceEncoder;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sentence encoder is part of a model: an ensemble trained on e5-small embeddings (three labels
 * of Banking77, a dozen examples each, so it trains in seconds) records it in its options and its
 * artifact, and embeds with it again once loaded; a model saved before the encoder was recorded
 * loads as MiniLM.
 */
class EncoderChoiceTest {
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-12-05T09:00:00Z"), ZoneOffset.UTC);
  private static final Set<String> LABELS =
      Set.of("card_arrival", "exchange_rate", "lost_or_stolen_phone");

  /**
   * A MiniLM embedding model of {@link #LABELS} saved by the build before this one (member type 2,
   * no encoder id).
   */
  private static final String LEGACY_MODEL = "minilm-type2-model.json";

  private static List<LabeledText> tiny;
  private static List<String> probes;
  private static TrainingOptions options;
  private static TrainedModel trained;
  private static final List<String> progress = new ArrayList<>();

  @TempDir Path dir;

  @BeforeAll
  static void train() {
    List<LabeledText> all = LabeledData.classpath(LabeledData.BANKING77_TRAIN);
    tiny =
        LABELS.stream()
            .sorted()
            .flatMap(l -> all.stream().filter(e -> e.label().equals(l)).limit(12))
            .toList();
    probes =
        LabeledData.classpath(LabeledData.BANKING77_TEST).stream()
            .filter(e -> LABELS.contains(e.label()))
            .map(LabeledText::text)
            .limit(30)
            .toList();
    options =
        TrainingOptions.defaults()
            .withFolds(0)
            .withEmbedding(new SgdRecipe(5, TrainingOptions.EMBEDDING_RECIPE.learningRate(), 1e-4))
            .withEncoder(EncoderModel.E5_SMALL);
    trained =
        ModelTrainer.train("tiny", tiny, options, message -> progress.add(message), null, CLOCK);
  }

  @Test
  void shouldRecordTheEncoderInTheOptionsAndTheArtifact() throws IOException {
    assertThat(TrainingOptions.fromJson(trained.record().config())).isEqualTo(options);
    assertThat(trained.record().config().get("encoder").asText()).isEqualTo("e5-small");
    assertThat(progress).contains("embedding 36 texts with e5-small");
    assertThat(memberTypes(trained.classifier()))
        .containsExactly(HashedScorer.TYPE, EmbeddingScorer.TYPE);
    assertThat(encoderOf(trained.classifier()))
        .isSameAs(SpecialistModels.sharedEncoder(EncoderModel.E5_SMALL));
  }

  @Test
  void shouldSaveAndLoadWithItsEncoderAndPredictTheSame() {
    SpecialistModels.save(trained.record(), dir.resolve("model"));

    TextClassifier loaded = SpecialistModels.load(dir.resolve("model"));

    assertThat(encoderOf(loaded).spec()).isEqualTo(EncoderModel.E5_SMALL);
    assertThat(loaded.predictAll(probes)).isEqualTo(trained.classifier().predictAll(probes));
    assertThat(probes.stream().map(loaded::predict).toList())
        .isEqualTo(probes.stream().map(trained.classifier()::predict).toList());
    assertThat(loaded.nearestExamples(probes.get(0), 3))
        .isEqualTo(trained.classifier().nearestExamples(probes.get(0), 3));
  }

  @Test
  void shouldTrainAMemberPerEncoderAndLoadEachWithItsOwn() {
    TrainingOptions two =
        options
            .withKind(ModelKind.CASCADE)
            .withEncoders(List.of(EncoderModel.MINILM, EncoderModel.BGE_SMALL));
    List<String> said = new ArrayList<>();

    TrainedModel both = ModelTrainer.train("tiny", tiny, two, said::add, null, CLOCK);

    assertThat(said)
        .contains("embedding 36 texts with minilm", "embedding 36 texts with bge-small");
    assertThat(memberTypes(both.classifier()))
        .containsExactly(HashedScorer.TYPE, EmbeddingScorer.TYPE, EmbeddingScorer.TYPE);
    assertThat(encodersOf(both.classifier()))
        .containsExactly(
            SpecialistModels.sharedEncoder(EncoderModel.MINILM),
            SpecialistModels.sharedEncoder(EncoderModel.BGE_SMALL));
    assertThat(both.record().metrics().get("temperatures").fieldNames())
        .toIterable()
        .containsExactly("hashed", "embedding", "embedding/bge-small");
    assertThat(TrainingOptions.fromJson(both.record().config())).isEqualTo(two);
    TextClassifier loaded = SpecialistModels.load(both.record());
    assertThat(encodersOf(loaded)).isEqualTo(encodersOf(both.classifier()));
    assertThat(loaded.predictAll(probes)).isEqualTo(both.classifier().predictAll(probes));
    // The ensemble stage averages three members: it differs from the one-encoder model's.
    TrainedModel one =
        ModelTrainer.train(
            "tiny", tiny, two.withEncoder(EncoderModel.MINILM), m -> {}, null, CLOCK);
    assertThat(probes.stream().map(t -> both.classifier().predict(t).confidence()).toList())
        .isNotEqualTo(probes.stream().map(t -> one.classifier().predict(t).confidence()).toList());
  }

  @Test
  void shouldRefuseAnEncoderOtherThanTheModels() {
    try (SentenceEncoder minilm = new SentenceEncoder(EncoderModel.MINILM)) {
      assertThatThrownBy(() -> SpecialistModels.load(trained.record(), minilm))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("trained on e5-small embeddings, but the encoder given is minilm");
      assertThatThrownBy(
              () -> ModelTrainer.train("tiny", tiny, options, message -> {}, minilm, CLOCK))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("embed with e5-small but the sentence encoder given is minilm");
    }
  }

  @Test
  void shouldLoadAModelSavedBeforeTheEncoderWasRecordedAsMiniLm() throws IOException {
    SpecialistModel legacy = legacyModel();
    assertThat(firstMemberType(legacy)).isEqualTo(EmbeddingScorer.MINILM_TYPE);
    assertThat(legacy.config().has("encoder")).isFalse();

    TextClassifier loaded = SpecialistModels.load(legacy);

    assertThat(TrainingOptions.fromJson(legacy.config()).encoder()).isEqualTo(EncoderModel.MINILM);
    assertThat(encoderOf(loaded)).isSameAs(SpecialistModels.sharedEncoder(EncoderModel.MINILM));
    assertThat(loaded.predict("My card has not arrived yet.").label()).isEqualTo("card_arrival");
    assertThat(loaded.predict("What exchange rate do you use for euros?").label())
        .isEqualTo("exchange_rate");
    assertThat(loaded.predict("Someone stole my phone, what do I do?").label())
        .isEqualTo("lost_or_stolen_phone");
    // Written again, it names its encoder, and the new artifact predicts the same.
    SpecialistModel again =
        SpecialistModels.encode(
            (SpecialistClassifier) loaded,
            CLOCK.instant(),
            legacy.trainingDataDigest(),
            legacy.metrics(),
            legacy.config());
    assertThat(firstMemberType(again)).isEqualTo(EmbeddingScorer.TYPE);
    assertThat(SpecialistModels.load(again).predictAll(probes))
        .isEqualTo(loaded.predictAll(probes));
  }

  @Test
  void shouldRefuseAnArtifactNamingAnEncoderThisBuildDoesNotHave() throws IOException {
    byte[] legacy = inflate(legacyModel());
    int type = firstMemberTypeAt(legacy);
    // The legacy member rewritten as this build writes one, but naming an encoder it lacks.
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(bytes))) {
      out.write(legacy, 0, type);
      out.writeByte(EmbeddingScorer.TYPE);
      out.write(legacy, type + 1, Double.BYTES); // temperature
      out.writeUTF("gte-large");
      out.write(legacy, type + 1 + Double.BYTES, legacy.length - type - 1 - Double.BYTES);
    }

    assertThatThrownBy(
            () ->
                SpecialistModels.decode(
                    bytes.toByteArray(), "legacy", "v", SpecialistModels::sharedEncoder))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(
            "trained with sentence encoder 'gte-large', which this build cannot run");
  }

  private static List<SentenceEncoder> encodersOf(TextClassifier model) {
    return ((SpecialistClassifier) model)
        .members().stream()
            .map(SpecialistClassifier.Member::scorer)
            .filter(EmbeddingScorer.class::isInstance)
            .map(s -> ((EmbeddingScorer) s).encoder())
            .toList();
  }

  private static SentenceEncoder encoderOf(TextClassifier model) {
    return ((SpecialistClassifier) model)
        .members().stream()
            .map(SpecialistClassifier.Member::scorer)
            .filter(EmbeddingScorer.class::isInstance)
            .map(s -> ((EmbeddingScorer) s).encoder())
            .findFirst()
            .orElseThrow();
  }

  private static SpecialistModel legacyModel() {
    return SpecialistModels.read(
        Path.of(EncoderChoiceTest.class.getResource(LEGACY_MODEL).getPath()));
  }

  private static byte[] inflate(SpecialistModel record) throws IOException {
    try (GZIPInputStream in =
        new GZIPInputStream(
            new ByteArrayInputStream(Base64.getDecoder().decode(record.artifact())))) {
      return in.readAllBytes();
    }
  }

  /** Where the first member's type byte is in inflated artifact bytes. */
  private static int firstMemberTypeAt(byte[] artifact) throws IOException {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(artifact));
    in.readInt(); // magic
    in.readInt(); // layout
    in.readByte(); // kind
    int labels = in.readInt();
    for (int i = 0; i < labels; i++) {
      in.skipBytes(in.readInt());
    }
    in.readDouble(); // threshold
    in.readInt(); // members
    return artifact.length - in.available();
  }

  private static byte firstMemberType(SpecialistModel record) throws IOException {
    byte[] artifact = inflate(record);
    return artifact[firstMemberTypeAt(artifact)];
  }

  private static List<Byte> memberTypes(TextClassifier model) {
    return ((SpecialistClassifier) model).members().stream().map(m -> m.scorer().type()).toList();
  }
}
