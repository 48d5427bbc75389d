package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelDigest;
import dev.llmstreams.specialist.model.ModelTrust;
import dev.llmstreams.specialist.model.SpecialistModels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code train}: the model it saves (and would publish) carries its digest, signed with a key. */
class TrainCommandTest {
  private static final Set<String> LABELS = Set.of("card_arrival", "lost_or_stolen_card");

  @TempDir Path dir;

  private Path csv(String name, String resource) throws Exception {
    List<LabeledText> rows =
        LabeledData.classpath(resource).stream().filter(e -> LABELS.contains(e.label())).toList();
    String body =
        rows.stream()
            .map(e -> "\"" + e.text().replace("\"", "\"\"") + "\"," + e.label())
            .collect(Collectors.joining("\n", "text,category\n", "\n"));
    return Files.writeString(dir.resolve(name), body);
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder().encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  /** {@code train} of the hashed kind on the bundled train and test rows of {@link #LABELS}. */
  private int train(Path config, StringWriter err, String... more) throws Exception {
    List<String> args =
        new java.util.ArrayList<>(
            List.of("--test", csv("test.csv", LabeledData.BANKING77_TEST).toString()));
    args.addAll(List.of(more));
    return trainOn(
        config,
        csv("train.csv", LabeledData.BANKING77_TRAIN),
        dir.resolve("model"),
        err,
        args.toArray(String[]::new));
  }

  @Test
  void shouldSaveASignedModelWithASigningKeyAndRefuseToPublishUnsignedWhenVerifying()
      throws Exception {
    KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    Path signing =
        Files.writeString(
            dir.resolve("signing.pem"), pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
    Path verify =
        Files.writeString(
            dir.resolve("verify.pem"), pem("PUBLIC KEY", pair.getPublic().getEncoded()));
    Path config =
        Files.writeString(
            dir.resolve("signing.properties"),
            AppConfig.SPECIALIST_MODELS_SIGNING_KEY_FILE + "=" + signing + "\n");

    assertThat(train(config, new StringWriter())).isZero();
    SpecialistModel saved = SpecialistModels.read(dir.resolve("model"));
    assertThat(saved.digest()).isEqualTo(ModelDigest.of(saved));
    // Two labels: too few to leave one out, and what train prints says so.
    var test =
        dev.llmstreams.specialist.model.Evaluation.evaluate(
            SpecialistModels.load(saved),
            LabeledData.classpath(LabeledData.BANKING77_TEST).stream()
                .filter(e -> LABELS.contains(e.label()))
                .toList(),
            0.5);
    var printed = TrainCommand.summary(saved, test, test);
    assertThat(printed.get("out_of_scope").get("skipped").asText())
        .isEqualTo("fewer than 3 labels");
    assertThat(printed.get("test").get("accuracy").asDouble()).isEqualTo(test.accuracy());
    assertThat(saved.keyId()).isEqualTo(ModelTrust.keyId(pair.getPublic()));
    assertThat(ModelTrust.of(null, List.of(pair.getPublic())).check(saved)).isEmpty();

    Path verifyOnly =
        Files.writeString(
            dir.resolve("verify.properties"),
            AppConfig.SPECIALIST_MODELS_VERIFY_KEY_FILE + "=" + verify + "\n");
    StringWriter err = new StringWriter();
    assertThat(train(verifyOnly, err, "--publish")).isEqualTo(2);
    assertThat(err.toString())
        .contains("there is no signing key")
        .contains(AppConfig.SPECIALIST_MODELS_SIGNING_KEY_FILE);
  }

  @Test
  void shouldTreatRowsOfTheOutOfScopeLabelAsTextsToEscalateInTrainingAndTest() throws Exception {
    // The two labels, and atm_support's rows relabelled none: a sample of the other traffic.
    for (String[] file :
        List.of(
            new String[] {"train.csv", LabeledData.BANKING77_TRAIN},
            new String[] {"test.csv", LabeledData.BANKING77_TEST})) {
      String body =
          LabeledData.classpath(file[1]).stream()
              .filter(e -> LABELS.contains(e.label()) || e.label().equals("atm_support"))
              .map(
                  e ->
                      "\""
                          + e.text().replace("\"", "\"\"")
                          + "\","
                          + (LABELS.contains(e.label()) ? e.label() : "none"))
              .collect(Collectors.joining("\n", "text,category\n", "\n"));
      Files.writeString(dir.resolve("with-none-" + file[0]), body);
    }
    long noneInTest =
        LabeledData.classpath(LabeledData.BANKING77_TEST).stream()
            .filter(e -> e.label().equals("atm_support"))
            .count();
    CommandLine cli = Main.commandLine();
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err, true));

    int status =
        cli.execute(
            "train",
            "--train",
            dir.resolve("with-none-train.csv").toString(),
            "--test",
            dir.resolve("with-none-test.csv").toString(),
            "--kind",
            "hashed",
            "--out-of-scope-label",
            "none",
            "--out",
            dir.resolve("model").toString());

    assertThat(status).as(err.toString()).isZero();
    SpecialistModel saved = SpecialistModels.read(dir.resolve("model"));
    assertThat(SpecialistModels.load(saved).labels()).containsExactlyInAnyOrderElementsOf(LABELS);
    assertThat(saved.config().get("outOfScopeLabel").asText()).isEqualTo("none");
    var labelled = saved.metrics().get("outOfScope").get("labelled");
    assertThat(labelled.get("label").asText()).isEqualTo("none");
    assertThat(labelled.get("kept").asDouble()).isLessThanOrEqualTo(0.25);
    var testOos = saved.metrics().get("test").get("out_of_scope");
    assertThat(testOos.get("events").asLong()).isEqualTo(noneInTest);
    // The test accuracy is over the two labels' rows alone.
    assertThat(saved.metrics().get("test").get("per_label").size()).isEqualTo(2);
    // evaluate reads the label from the model and does the same.
    Path json = dir.resolve("evaluate.json");
    assertThat(
            cli.execute(
                "evaluate",
                "--model",
                dir.resolve("model").toString(),
                "--test",
                dir.resolve("with-none-test.csv").toString(),
                "--json",
                json.toString()))
        .isZero();
    var evaluated = dev.llmstreams.events.Json.tree(Files.readString(json));
    assertThat(evaluated.get("test_out_of_scope").get("events").asLong()).isEqualTo(noneInTest);
    assertThat(evaluated.get("test_out_of_scope").get("kept").asLong())
        .isEqualTo(testOos.get("kept").asLong());
    assertThat(evaluated.get("per_label").size()).isEqualTo(2);
    assertThat(evaluated.has("unknown_label_rows")).isFalse();

    StringWriter blank = new StringWriter();
    assertThat(
            train(
                Files.writeString(dir.resolve("e.properties"), ""),
                blank,
                "--out-of-scope-label",
                " "))
        .isEqualTo(2);
    assertThat(blank.toString())
        .contains("--out-of-scope-label: outOfScopeLabel must not be blank");
  }

  @Test
  void shouldAimForTheTargetAccuracyGivenAndKeepItInTheRecipe() throws Exception {
    Path config = Files.writeString(dir.resolve("empty.properties"), "");
    StringWriter err = new StringWriter();

    assertThat(train(config, err, "--target-accuracy", "0.995")).as(err.toString()).isZero();

    SpecialistModel strict = SpecialistModels.read(dir.resolve("model"));
    assertThat(strict.config().get("targetAccuracy").asDouble()).isEqualTo(0.995);
    assertThat(
            dev.llmstreams.specialist.model.TrainingOptions.fromJson(strict.config())
                .targetAccuracy())
        .isEqualTo(0.995);
    // The held-out events kept reach it (or nothing is kept).
    var dev = strict.metrics().get("dev");
    assertThat(dev.get("accuracy_at_threshold").asDouble()).isGreaterThanOrEqualTo(0.995);

    StringWriter usual = new StringWriter();
    assertThat(train(config, usual)).as(usual.toString()).isZero();
    SpecialistModel defaults = SpecialistModels.read(dir.resolve("model"));
    assertThat(defaults.config().get("targetAccuracy").asDouble()).isEqualTo(0.97);
    assertThat(defaults.metrics().get("recommendedThreshold").asDouble())
        .isLessThanOrEqualTo(strict.metrics().get("recommendedThreshold").asDouble());

    StringWriter bad = new StringWriter();
    assertThat(train(config, bad, "--target-accuracy", "1.5")).isEqualTo(2);
    assertThat(bad.toString()).contains("--target-accuracy: targetAccuracy must be in (0, 1]: 1.5");
  }

  /** {@code train} of the hashed kind on {@code trainFile} with {@code more}. */
  private static int trainOn(
      Path config, Path trainFile, Path model, StringWriter err, String... more) {
    CommandLine cli = Main.commandLine();
    cli.setErr(new PrintWriter(err, true));
    List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "train",
                "--config",
                config.toString(),
                "--train",
                trainFile.toString(),
                "--kind",
                "hashed",
                "--out",
                model.toString()));
    args.addAll(List.of(more));
    return cli.execute(args.toArray(String[]::new));
  }

  @Test
  void shouldHoldOutAShareOfEachLabelWhenThereIsNoTestFile() throws Exception {
    Path config = Files.writeString(dir.resolve("empty.properties"), "");
    Path all = csv("all.csv", LabeledData.BANKING77_TRAIN);
    int rows = (int) Files.readAllLines(all).stream().skip(1).count();
    Path model = dir.resolve("split-model");
    StringWriter err = new StringWriter();
    assertThat(trainOn(config, all, model, err)).as(err.toString()).isZero();
    var metrics = SpecialistModels.read(model).metrics();
    int support = 0;
    for (var label :
        (Iterable<com.fasterxml.jackson.databind.JsonNode>)
            () -> metrics.get("test").get("per_label").elements()) {
      support += label.get("support").asInt();
    }
    assertThat(metrics.get("trainingExamples").asInt() + support).isEqualTo(rows);
    assertThat(support)
        .isCloseTo((int) Math.round(rows * 0.2), org.assertj.core.api.Assertions.within(2));

    StringWriter both = new StringWriter();
    assertThat(
            trainOn(config, all, model, both, "--test", all.toString(), "--test-fraction", "0.3"))
        .isEqualTo(2);
    assertThat(both.toString()).contains("--test-fraction goes without --test");
    StringWriter whole = new StringWriter();
    assertThat(trainOn(config, all, model, whole, "--test-fraction", "1")).isEqualTo(2);
    assertThat(whole.toString()).contains("--test-fraction must be above 0 and below 1: 1.0");
  }

  @Test
  void holdOutIsStratifiedSeededAndKeepsASingleExampleInTraining() {
    List<LabeledText> all = new java.util.ArrayList<>();
    for (int i = 0; i < 10; i++) {
      all.add(new LabeledText("a" + i, "a"));
      all.add(new LabeledText("b" + i, "b"));
    }
    all.add(new LabeledText("c0", "c"));
    all.add(new LabeledText("d0", "d"));
    all.add(new LabeledText("d1", "d"));
    List<List<LabeledText>> split = TrainCommand.holdOut(all, 0.3, 7);
    List<LabeledText> train = split.get(0);
    List<LabeledText> test = split.get(1);
    assertThat(test.stream().filter(e -> e.label().equals("a"))).hasSize(3);
    assertThat(test.stream().filter(e -> e.label().equals("b"))).hasSize(3);
    assertThat(test.stream().filter(e -> e.label().equals("d"))).hasSize(1);
    assertThat(train).contains(new LabeledText("c0", "c"));
    assertThat(train).hasSize(all.size() - test.size()).doesNotContainAnyElementsOf(test);
    // Input order kept; same seed, same split; another seed, another.
    assertThat(train).isSortedAccordingTo(java.util.Comparator.comparingInt(all::indexOf));
    assertThat(TrainCommand.holdOut(all, 0.3, 7)).isEqualTo(split);
    assertThat(TrainCommand.holdOut(all, 0.3, 8).get(1)).isNotEqualTo(test);
  }

  @Test
  void shouldRefuseAnUnknownEncoderOrAnEncoderForTheHashedModel() throws Exception {
    Path config = Files.writeString(dir.resolve("empty.properties"), "");

    StringWriter unknown = new StringWriter();
    assertThat(train(config, unknown, "--encoder", "gte-large")).isEqualTo(2);
    assertThat(unknown.toString())
        .contains("unknown encoder 'gte-large' (minilm, e5-small, bge-small)");
    StringWriter hashed = new StringWriter();
    assertThat(train(config, hashed, "--encoder", "e5-small")).isEqualTo(2);
    assertThat(hashed.toString())
        .contains("--encoder goes with --kind embedding, ensemble or cascade");
    StringWriter twice = new StringWriter();
    assertThat(train(config, twice, "--encoder", "minilm,bge-small,minilm")).isEqualTo(2);
    assertThat(twice.toString())
        .contains("--encoder: each encoder may appear once: minilm and bge-small, minilm");
    StringWriter empty = new StringWriter();
    assertThat(train(config, empty, "--encoder", "minilm,")).isEqualTo(2);
    assertThat(empty.toString()).contains("--encoder: unknown encoder ''");
    assertThat(dir.resolve("model")).doesNotExist();
  }
}
