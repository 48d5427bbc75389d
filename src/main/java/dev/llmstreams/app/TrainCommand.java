package dev.llmstreams.app;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.bench.Progress;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.ModelPromotion;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.runtime.text.EncoderModel;
import dev.llmstreams.specialist.model.Evaluation;
import dev.llmstreams.specialist.model.EvaluationReport;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.ModelTrust;
import dev.llmstreams.specialist.model.OutOfScopeReport;
import dev.llmstreams.specialist.model.SpecialistModels;
import dev.llmstreams.specialist.model.TrainedModel;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRef;
import dev.llmstreams.topics.TopicRole;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Train a specialist model on labelled texts, evaluate it on --test (or on --test-fraction of"
          + " --train, held out) and save it to --out.",
      "Texts are CSV with a header row (.csv, .tsv), or JSON lines (.jsonl). --publish also sends the model to "
          + "specialist-models and the training examples to labels, so the online trainer can retrain "
          + "from them, if the promotion gate lets it: when a model is in service, both are scored on "
          + "labels newer than it and not in --train, and the new one goes in only when at least as "
          + "good (kept accuracy and coverage, within specialist.promotion.tolerance); else it is "
          + "recorded under <name>/rejected with its scores, and the command exits with status 3. "
          + "--force skips the gate.",
      "The model carries its digest, and is signed when specialist.models.signing.key.file (or "
          + "LLMSTREAMS_SPECIALIST_MODELS_SIGNING_KEY) is set."
    })
final class TrainCommand implements Callable<Integer> {
  @ParentCommand Main main;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--train",
      paramLabel = "FILE",
      required = true,
      description = "Training examples (.csv or .jsonl).")
  Path trainFile;

  @Option(
      names = "--test",
      paramLabel = "FILE",
      description =
          "Held-out examples to evaluate on; without it, --test-fraction of --train is held out.")
  Path testFile;

  @Option(
      names = "--test-fraction",
      paramLabel = "F",
      description =
          "Without --test: the share of each label's examples in --train held out as the test set,"
              + " never trained on, picked by --seed (default "
              + DEFAULT_TEST_FRACTION
              + "); a label with a single example stays in training.")
  Double testFraction;

  /** The share of --train held out for the test when no --test file is given. */
  static final double DEFAULT_TEST_FRACTION = 0.2;

  @Mixin LabeledColumns columns;

  @Option(
      names = "--kind",
      defaultValue = "cascade",
      description =
          "hashed (fastest), embedding (sentence embeddings of --encoder), ensemble (both, averaged) or cascade (hashed first, the"
              + " ensemble only for what it is unsure of: about the ensemble's accuracy at a fraction of its"
              + " cost) (default ${DEFAULT-VALUE}).")
  String kind;

  @Option(
      names = "--out-of-scope-kept",
      description =
          "The largest share of events of labels the model never saw that it may keep rather than escalate,"
              + " estimated by leaving groups of labels out of extra trainings (default "
              + TrainingOptions.DEFAULT_OUT_OF_SCOPE_KEPT
              + "; 1 turns the calibration off).")
  Double outOfScopeKept;

  @Option(
      names = "--out-of-scope-groups",
      description =
          "Label groups for that calibration, each left out of one extra training of every member (default "
              + TrainingOptions.DEFAULT_OUT_OF_SCOPE_GROUPS
              + "; 0 turns it off). With fewer labels, each is left out on its own; under 3 labels"
              + " the calibration cannot run, and train says so.")
  Integer outOfScopeGroups;

  @Option(
      names = "--out-of-scope-label",
      paramLabel = "LABEL",
      description =
          "Examples with this label are not a class but texts none of the labels cover (a sample of the other"
              + " traffic): never trained on, and the thresholds keep at most --out-of-scope-kept of them. Kept in"
              + " the recipe, so retrains from labels treat them alike; test rows with it are reported as out of"
              + " scope.")
  String outOfScopeLabel;

  @Option(
      names = "--target-accuracy",
      description =
          "Accuracy wanted of the events the model keeps: the recommended threshold is the lowest at which the"
              + " held-out events kept reach it; the rest are escalated (default "
              + TrainingOptions.DEFAULT_TARGET_ACCURACY
              + "). Kept in the recipe, so retrains aim for it too.")
  Double targetAccuracy;

  @Option(
      names = "--cascade-slack",
      description =
          "Coverage a cascade may give up so that its hashed first stage decides more events, and fewer pay for the"
              + " encoder: faster, more escalated (default "
              + TrainingOptions.DEFAULT_CASCADE_SLACK
              + ").")
  Double cascadeSlack;

  @Option(
      names = "--encoder",
      paramLabel = "ID[,ID...]",
      description =
          "minilm (default), e5-small or bge-small: the sentence encoder of embedding, ensemble and cascade models, kept in"
              + " the model. On Banking77: head accuracy 0.931, 0.924, 0.932 at about 680, 210-280, 320 texts/s one"
              + " at a time. Several, comma-separated (minilm,bge-small): an embedding member per encoder, averaged;"
              + " more accurate, and every text the model embeds pays for each encoder.")
  String encoder;

  @Option(
      names = "--name",
      defaultValue = "banking77",
      description = "Model name, the key on specialist-models (default ${DEFAULT-VALUE}).")
  String name;

  @Option(
      names = "--seed",
      description = "Seed of the folds and the shuffles (default: the recipe's).")
  Long seed;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      required = true,
      description = "Model directory to write (model.json).")
  Path out;

  @Option(
      names = "--publish",
      description =
          "Also produce the model to specialist-models and the examples to labels, through the promotion gate.")
  boolean publish;

  @Option(
      names = "--force",
      description =
          "With --publish: put the model in service without the promotion gate (recorded as forced).")
  boolean force;

  /** The exit status of a publication the promotion gate rejected. */
  static final int REJECTED = 3;

  @Override
  public Integer call() throws Exception {
    // Keys first: a key problem shows before minutes of training, not after.
    ModelTrust trust = trust();
    if (publish && trust.verifies() && !trust.signs()) {
      throw new Main.UserError(
          AppConfig.SPECIALIST_MODELS_VERIFY_KEY_FILE
              + " is set but there is no signing key ("
              + AppConfig.SPECIALIST_MODELS_SIGNING_KEY_FILE
              + "): the specialist would refuse an unsigned model");
    }
    TrainingOptions options =
        TrainingOptions.defaults().withKind(parseKind()).withEncoders(parseEncoders());
    if (seed != null) {
      options = options.withSeed(seed);
    }
    List<LabeledText> train = columns.read(trainFile);
    List<LabeledText> test;
    String testSource;
    if (testFile != null) {
      if (testFraction != null) {
        throw new Main.UserError(
            "--test-fraction goes without --test: the test set is one or the other");
      }
      test = columns.read(testFile);
      testSource = testFile.toString();
    } else {
      double fraction = testFraction != null ? testFraction : DEFAULT_TEST_FRACTION;
      if (!(fraction > 0 && fraction < 1)) {
        throw new Main.UserError("--test-fraction must be above 0 and below 1: " + fraction);
      }
      List<List<LabeledText>> split = holdOut(train, fraction, options.seed());
      train = split.get(0);
      test = split.get(1);
      if (test.isEmpty()) {
        throw new Main.UserError(
            "--test-fraction "
                + fraction
                + " of "
                + trainFile
                + " holds out no example (every label has a single one): give --test FILE");
      }
      testSource =
          String.format(
              Locale.ROOT,
              "%s of each label's examples of %s held out (seed %d)",
              new DecimalFormat("0.##%").format(fraction),
              trainFile,
              options.seed());
    }
    if (targetAccuracy != null) {
      try {
        options = options.withTargetAccuracy(targetAccuracy);
      } catch (IllegalArgumentException e) {
        throw new Main.UserError("--target-accuracy: " + e.getMessage());
      }
    }
    if (cascadeSlack != null) {
      try {
        options = options.withCascadeSlack(cascadeSlack);
      } catch (IllegalArgumentException e) {
        throw new Main.UserError("--cascade-slack: " + e.getMessage());
      }
    }
    if (outOfScopeKept != null || outOfScopeGroups != null) {
      double kept = outOfScopeKept != null ? outOfScopeKept : options.outOfScopeKept();
      int groups = outOfScopeGroups != null ? outOfScopeGroups : options.outOfScopeGroups();
      try {
        options = kept >= 1 ? options.withOutOfScope(0, 1) : options.withOutOfScope(groups, kept);
      } catch (IllegalArgumentException e) {
        throw new Main.UserError(e.getMessage());
      }
    }
    if (outOfScopeLabel != null) {
      try {
        options = options.withOutOfScopeLabel(outOfScopeLabel);
      } catch (IllegalArgumentException e) {
        throw new Main.UserError("--out-of-scope-label: " + e.getMessage());
      }
    }
    Progress progress = new Progress(System.err, "train");
    progress.say(
        "%d training and %d test examples; %s", train.size(), test.size(), options.toJson());
    TrainedModel trained = ModelTrainer.train(name, train, options, progress::say);
    progress.say("evaluating on %s", testSource);
    Evaluation.Split testRows = Evaluation.split(test, outOfScopeLabel);
    EvaluationReport onTest =
        Evaluation.evaluate(
            trained.classifier(), testRows.scored(), trained.classifier().recommendedThreshold());
    ObjectNode metrics = trained.record().metrics().deepCopy();
    ObjectNode testJson = onTest.toJson();
    if (!testRows.outOfScope().isEmpty()) {
      OutOfScopeReport oos =
          Evaluation.outOfScope(
              trained.classifier(),
              testRows.outOfScope(),
              trained.classifier().recommendedThreshold());
      progress.say("test rows labelled %s: %s", outOfScopeLabel, oos.summary());
      testJson.set("out_of_scope", oos.toJson());
    }
    metrics.set("test", testJson);
    // Sealed after the last change: the digest covers the metrics too, and the signature the
    // digest.
    SpecialistModel record = trust.seal(SpecialistModels.withMetrics(trained.record(), metrics));
    progress.say(
        "%s, digest %s",
        trust.signs() ? "signed with key " + trust.signingKeyId() : "not signed (no signing key)",
        record.digest());
    Path file = SpecialistModels.save(record, out);
    progress.say("saved %s", file);
    BenchCommand.report(summary(record, trained.dev(), onTest), null);
    if (force && !publish) {
      throw new Main.UserError("--force goes with --publish");
    }
    if (publish) {
      ModelPromotion decision =
          force
              ? PromotionCheck.forced("train --publish --force", Clock.systemUTC())
              : PromotionCheck.decide(
                  main.config(),
                  main.catalog(),
                  record,
                  trained.classifier(),
                  PromotionCheck.texts(train),
                  progress,
                  Clock.systemUTC());
      progress.say("promotion gate: %s, %s", decision.decision(), decision.reason());
      if (decision.decision() == ModelPromotion.Decision.REJECTED) {
        // Recorded where people look (specialist-models, /specialist), never served; its training
        // examples stay out of labels.
        publish(
            main.config(),
            main.catalog(),
            SpecialistModel.rejectedKey(name),
            record.withPromotion(decision),
            List.of(),
            progress);
        spec.commandLine()
            .getErr()
            .printf(
                "llm-streams: train: not published: %s; the model in service stays (--force"
                    + " publishes anyway)%n",
                decision.reason());
        return REJECTED;
      }
      publish(main.config(), main.catalog(), name, record.withPromotion(decision), train, progress);
    }
    return 0;
  }

  /**
   * Splits {@code all} into training and test examples: of each label's examples, shuffled by
   * {@code seed}, {@code round(fraction * n)} go to the test, at least one when the label has two
   * or more, never all of them; both lists keep the input order. Same input and seed, same split.
   */
  static List<List<LabeledText>> holdOut(List<LabeledText> all, double fraction, long seed) {
    Map<String, List<Integer>> byLabel = new TreeMap<>();
    for (int i = 0; i < all.size(); i++) {
      byLabel.computeIfAbsent(all.get(i).label(), l -> new ArrayList<>()).add(i);
    }
    Random random = new Random(seed);
    Set<Integer> held = new HashSet<>();
    for (List<Integer> rows : byLabel.values()) {
      Collections.shuffle(rows, random);
      int n = rows.size();
      int k = n < 2 ? 0 : (int) Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
      held.addAll(rows.subList(0, k));
    }
    List<LabeledText> train = new ArrayList<>();
    List<LabeledText> test = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      (held.contains(i) ? test : train).add(all.get(i));
    }
    return List.of(train, test);
  }

  private ModelTrust trust() {
    try {
      return ModelTrust.from(main.config());
    } catch (org.apache.kafka.common.config.ConfigException e) {
      throw new Main.UserError(e.getMessage());
    }
  }

  private ModelKind parseKind() {
    try {
      return ModelKind.of(kind);
    } catch (IllegalArgumentException e) {
      throw new Main.UserError(e.getMessage());
    }
  }

  private List<EncoderModel> parseEncoders() {
    if (encoder == null) {
      return TrainingOptions.defaults().encoders();
    }
    List<EncoderModel> all = new ArrayList<>();
    try {
      for (String id : encoder.split(",", -1)) {
        all.add(EncoderModel.of(id));
      }
      // The options refuse an encoder given twice.
      TrainingOptions.defaults().withEncoders(all);
    } catch (IllegalArgumentException ex) {
      throw new Main.UserError("--encoder: " + ex.getMessage());
    }
    if (parseKind() == ModelKind.HASHED) {
      throw new Main.UserError(
          "--encoder goes with --kind embedding, ensemble or cascade: the hashed model embeds nothing");
    }
    return all;
  }

  /**
   * What train prints: the model, its size and training time, its out-of-scope calibration (as in
   * its metrics, when it was asked for) and the headline scores held out and on the test set.
   */
  static ObjectNode summary(SpecialistModel record, EvaluationReport dev, EvaluationReport test) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("name", record.name());
    o.put("version", record.version());
    o.put("format", record.format());
    o.put("record_bytes", SpecialistModels.recordBytes(record));
    o.put("training_seconds", record.metrics().path("trainingSeconds").asDouble());
    if (record.metrics().has("outOfScope")) {
      o.set("out_of_scope", record.metrics().get("outOfScope"));
    }
    o.set("dev", headline(dev));
    o.set("test", headline(test));
    return o;
  }

  /** A report without its per-label table (that stays in model.json). */
  static ObjectNode headline(EvaluationReport report) {
    ObjectNode o = report.toJson();
    o.remove("per_label");
    return o;
  }

  /**
   * The model to specialist-models, then its training examples to labels (the online trainer
   * retrains from them).
   */
  static void publish(
      AppConfig config,
      TopicCatalog catalog,
      String key,
      SpecialistModel record,
      List<LabeledText> examples,
      Progress progress)
      throws Exception {
    Topic<SpecialistModel> models =
        catalog.topic(TopicRef.of(TopicRole.SPECIALIST_MODELS, SpecialistModel.class));
    Topic<LabelEvent> labels = catalog.topic(TopicRef.of(TopicRole.LABELS, LabelEvent.class));
    byte[] value = models.valueSerde().serializer().serialize(models.name(), record);
    String limit = models.spec().configs().get("max.message.bytes");
    if (limit != null && value.length > Integer.parseInt(limit)) {
      throw new Main.UserError(
          "the model record is "
              + value.length
              + " bytes; "
              + models.name()
              + " takes at most "
              + limit);
    }
    // Stamped with the model's own time: the trainer compares models only on examples labelled
    // after the model in
    // service was built, and this one was trained on all of these.
    Instant at = record.createdAt();
    try (KafkaProducer<byte[], byte[]> producer = Clients.producer(config)) {
      // The model goes first: the trainer counts as new only labels given after the model in
      // service was built, so
      // these examples (stamped with its time) start no retraining once it is loaded.
      producer
          .send(new ProducerRecord<>(models.name(), key.getBytes(StandardCharsets.UTF_8), value))
          .get();
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (LabeledText e : examples) {
        LabelEvent label = new LabelEvent(null, e.text(), e.label(), LabelEvent.Source.HUMAN, at);
        sent.add(
            producer.send(
                new ProducerRecord<>(
                    labels.name(),
                    null,
                    labels.valueSerde().serializer().serialize(labels.name(), label))));
      }
      producer.flush();
      for (Future<RecordMetadata> f : sent) {
        f.get();
      }
    }
    progress.say(
        "published %s %s (%d bytes) to %s and %d examples to %s",
        key, record.version(), value.length, models.name(), examples.size(), labels.name());
  }
}
