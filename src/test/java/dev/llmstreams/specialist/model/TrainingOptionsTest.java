package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.runtime.text.EncoderModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The recipe a model record keeps as its config, so that a retrain repeats it. */
class TrainingOptionsTest {
  @Test
  void shouldRoundTripTheEncoderThroughJson() {
    TrainingOptions options =
        TrainingOptions.defaults()
            .withKind(ModelKind.EMBEDDING)
            .withEncoder(EncoderModel.BGE_SMALL);

    ObjectNode json = options.toJson();

    assertThat(json.get("encoder").asText()).isEqualTo("bge-small");
    assertThat(TrainingOptions.fromJson(json)).isEqualTo(options);
  }

  @Test
  void shouldDefaultToMiniLmWhenAConfigHasNoEncoder() {
    ObjectNode old = TrainingOptions.defaults().withKind(ModelKind.ENSEMBLE).toJson();
    old.remove("encoder");

    assertThat(TrainingOptions.defaults().encoder()).isEqualTo(EncoderModel.MINILM);
    assertThat(TrainingOptions.fromJson(old).encoder()).isEqualTo(EncoderModel.MINILM);
    assertThat(TrainingOptions.fromJson(old))
        .isEqualTo(TrainingOptions.defaults().withKind(ModelKind.ENSEMBLE));
    assertThat(TrainingOptions.fromJson(null)).isEqualTo(TrainingOptions.defaults());
  }

  @Test
  void shouldKeepRetrainingARecordFromBeforeOutOfScopeCalibrationWithoutIt() {
    ObjectNode old = TrainingOptions.defaults().withKind(ModelKind.ENSEMBLE).toJson();
    old.remove("outOfScopeGroups");
    old.remove("outOfScopeKept");

    TrainingOptions read = TrainingOptions.fromJson(old);

    assertThat(read.outOfScopeGroups()).isZero();
    assertThat(read.outOfScopeKept()).isEqualTo(1.0);
    assertThat(TrainingOptions.defaults().outOfScopeGroups())
        .isEqualTo(TrainingOptions.DEFAULT_OUT_OF_SCOPE_GROUPS);
    assertThat(TrainingOptions.fromJson(TrainingOptions.defaults().toJson()))
        .isEqualTo(TrainingOptions.defaults());
  }

  @Test
  void shouldRefuseAnUnknownEncoder() {
    ObjectNode json = TrainingOptions.defaults().toJson().put("encoder", "gte-large");

    assertThatThrownBy(() -> TrainingOptions.fromJson(json))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown encoder 'gte-large'");
  }

  @Test
  void shouldRoundTripSeveralEncodersAndKeepAOneEncoderConfigAsItWas() {
    TrainingOptions two =
        TrainingOptions.defaults()
            .withEncoders(List.of(EncoderModel.MINILM, EncoderModel.BGE_SMALL))
            .withSeed(3);

    ObjectNode json = two.toJson();

    assertThat(two.encoders()).containsExactly(EncoderModel.MINILM, EncoderModel.BGE_SMALL);
    assertThat(two.encoder()).isEqualTo(EncoderModel.MINILM);
    assertThat(json.get("encoder").asText()).isEqualTo("minilm");
    assertThat(json.get("moreEncoders").toString()).isEqualTo("[\"bge-small\"]");
    assertThat(TrainingOptions.fromJson(json)).isEqualTo(two);
    // withX keeps them; withEncoder is one encoder again.
    assertThat(two.withKind(ModelKind.ENSEMBLE).encoders()).isEqualTo(two.encoders());
    assertThat(two.withEncoder(EncoderModel.E5_SMALL).encoders())
        .containsExactly(EncoderModel.E5_SMALL);
    assertThat(TrainingOptions.defaults().toJson().has("moreEncoders")).isFalse();
    assertThat(TrainingOptions.defaults().encoders()).containsExactly(EncoderModel.MINILM);
  }

  @Test
  void shouldRefuseAnEncoderTwiceOrNone() {
    assertThatThrownBy(
            () ->
                TrainingOptions.defaults()
                    .withEncoders(List.of(EncoderModel.BGE_SMALL, EncoderModel.BGE_SMALL)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("each encoder may appear once: bge-small and bge-small");
    assertThatThrownBy(() -> TrainingOptions.defaults().withEncoders(List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least one encoder");
    ObjectNode json = TrainingOptions.defaults().toJson();
    json.putArray("moreEncoders").add("gte-large");
    assertThatThrownBy(() -> TrainingOptions.fromJson(json))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown encoder 'gte-large'");
    ObjectNode notAnArray = TrainingOptions.defaults().toJson().put("moreEncoders", "bge-small");
    assertThatThrownBy(() -> TrainingOptions.fromJson(notAnArray))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("moreEncoders must be an array");
  }

  @Test
  void shouldKeepAChosenCascadeSlackAndWriteNoneByDefault() {
    TrainingOptions wider = TrainingOptions.defaults().withCascadeSlack(0.05);

    ObjectNode json = wider.toJson();

    assertThat(json.get("cascadeSlack").asDouble()).isEqualTo(0.05);
    assertThat(TrainingOptions.fromJson(json)).isEqualTo(wider);
    assertThat(TrainingOptions.defaults().toJson().has("cascadeSlack")).isFalse();
    assertThat(TrainingOptions.fromJson(TrainingOptions.defaults().toJson()).cascadeSlack())
        .isEqualTo(TrainingOptions.DEFAULT_CASCADE_SLACK);
    assertThat(wider.withKind(ModelKind.CASCADE).withSeed(2).cascadeSlack()).isEqualTo(0.05);
    assertThatThrownBy(() -> TrainingOptions.defaults().withCascadeSlack(-0.1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cascadeSlack must be in [0, 1]");
  }
}
