package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.events.Json;
import dev.llmstreams.events.SpecialistModel;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The artifact codec, on a hashed model of a quarter of Banking77 (quick to train twice). */
class SpecialistModelsTest {
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-28T09:00:00Z"), ZoneOffset.UTC);
  private static List<LabeledText> data;
  private static List<String> probes;
  private static TrainedModel trained;

  @TempDir Path dir;

  @BeforeAll
  static void train() {
    data = LabeledData.classpath(LabeledData.BANKING77_TRAIN).subList(0, 2500);
    probes =
        LabeledData.classpath(LabeledData.BANKING77_TEST).stream()
            .limit(200)
            .map(LabeledText::text)
            .toList();
    trained = hashed(data, 77);
  }

  private static TrainedModel hashed(List<LabeledText> examples, long seed) {
    return ModelTrainer.train(
        "banking77",
        examples,
        TrainingOptions.defaults().withKind(ModelKind.HASHED).withSeed(seed),
        message -> {},
        null,
        CLOCK);
  }

  @Test
  void shouldPredictTheSameAfterEncodingAndLoading() {
    TextClassifier loaded = SpecialistModels.load(trained.record());

    assertThat(loaded.predictAll(probes)).isEqualTo(trained.classifier().predictAll(probes));
    assertThat(loaded.version())
        .isEqualTo(trained.record().version())
        .startsWith("2026-11-28T09-00-00Z-");
    assertThat(loaded.recommendedThreshold())
        .isEqualTo(trained.classifier().recommendedThreshold());
    assertThat(loaded.nearestExamples(probes.get(0), 4))
        .isEqualTo(trained.classifier().nearestExamples(probes.get(0), 4));
    // Lossless: a loaded model encodes to the very artifact it came from.
    SpecialistModel again =
        SpecialistModels.encode(
            (SpecialistClassifier) loaded,
            CLOCK.instant(),
            trained.record().trainingDataDigest(),
            null,
            null);
    assertThat(again.artifactSha256()).isEqualTo(trained.record().artifactSha256());
  }

  @Test
  void shouldSaveAndLoadAModelDirectory() throws Exception {
    SpecialistModels.save(trained.record(), dir.resolve("model"));

    // Compared as JSON text: numbers in the metrics come back as the narrowest node (77 was a long,
    // is read as an int).
    assertThat(Json.writer().writeValueAsString(SpecialistModels.read(dir.resolve("model"))))
        .isEqualTo(Json.writer().writeValueAsString(trained.record()));
    assertThat(SpecialistModels.load(dir.resolve("model")).predictAll(probes))
        .isEqualTo(trained.classifier().predictAll(probes));
  }

  @Test
  void shouldRefuseAnArtifactWhoseHashDoesNotMatch() {
    SpecialistModel r = trained.record();
    byte[] artifact = Base64.getDecoder().decode(r.artifact());
    artifact[artifact.length / 2] ^= 1;
    SpecialistModel tampered =
        new SpecialistModel(
            r.name(),
            r.version(),
            r.createdAt(),
            r.labels(),
            r.trainingDataDigest(),
            r.metrics(),
            r.config(),
            r.format(),
            Base64.getEncoder().encodeToString(artifact),
            r.artifactSha256());

    assertThatThrownBy(() -> SpecialistModels.load(tampered))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not match the record's " + r.artifactSha256());
  }

  @Test
  void shouldRefuseAnUnknownFormatOrAFormatOfAnotherKind() {
    SpecialistModel r = trained.record();

    assertThatThrownBy(() -> SpecialistModels.load(withFormat(r, "pickle-v1")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown model format 'pickle-v1'");
    assertThatThrownBy(() -> SpecialistModels.load(withFormat(r, ModelKind.ENSEMBLE.format())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("but the artifact holds a hashed model");
  }

  @Test
  void shouldRefuseBytesThatAreNotAnArtifact() {
    byte[] junk = "not a model".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    SpecialistModel r = trained.record();
    SpecialistModel bad =
        new SpecialistModel(
            r.name(),
            r.version(),
            r.createdAt(),
            r.labels(),
            r.trainingDataDigest(),
            r.metrics(),
            r.config(),
            r.format(),
            Base64.getEncoder().encodeToString(junk),
            SpecialistModels.sha256Hex(junk));

    assertThatThrownBy(() -> SpecialistModels.load(bad))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("malformed artifact");
  }

  @Test
  void shouldTrainTheSameWeightsFromTheSameSeed() {
    TrainedModel again = hashed(data, 77);
    TrainedModel otherSeed = hashed(data, 78);

    assertThat(again.record().artifactSha256()).isEqualTo(trained.record().artifactSha256());
    assertThat(again.classifier().predictAll(probes))
        .isEqualTo(trained.classifier().predictAll(probes));
    assertThat(otherSeed.record().artifactSha256()).isNotEqualTo(trained.record().artifactSha256());
  }

  private static SpecialistModel withFormat(SpecialistModel r, String format) {
    return new SpecialistModel(
        r.name(),
        r.version(),
        r.createdAt(),
        r.labels(),
        r.trainingDataDigest(),
        r.metrics(),
        r.config(),
        format,
        r.artifact(),
        r.artifactSha256());
  }
}
