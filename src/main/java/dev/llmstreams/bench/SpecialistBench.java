package dev.llmstreams.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.Folders;
import dev.llmstreams.runtime.text.EncoderModel;
import dev.llmstreams.specialist.SpecialistModule;
import dev.llmstreams.specialist.model.Evaluation;
import dev.llmstreams.specialist.model.EvaluationReport;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.OutOfScopeReport;
import dev.llmstreams.specialist.model.Prediction;
import dev.llmstreams.specialist.model.SpecialistClassifier;
import dev.llmstreams.specialist.model.SpecialistModels;
import dev.llmstreams.specialist.model.TextClassifier;
import dev.llmstreams.specialist.model.TrainedModel;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * {@code bench specialist}: each model kind trained on the training file and scored on the test
 * file (accuracy, macro F1, and the share and accuracy of events kept at the model's own
 * threshold), then the best one served by the specialist over a real broker: events per second from
 * produced requests to committed classifications, against the same model's speed outside Kafka (one
 * thread, one prediction per event, as a stream thread calls it).
 */
public final class SpecialistBench {
  /** The model's name on the bench's own topics. */
  static final String MODEL = "bench-specialist";

  /**
   * What to run.
   *
   * @param train the training examples
   * @param test the held-out examples (also the texts streamed through the broker)
   * @param kinds the model kinds to train and score; the best by accuracy is served inline
   * @param events requests streamed in the measured phase
   * @param warmupEvents requests streamed first and not measured, so the JIT has compiled the path
   * @param commitIntervalMs the app's commit.interval.ms; null: the app's default
   * @param chart an SVG of accuracy against coverage for each kind, or null
   * @param model a saved model (read from {@code train --out DIR}) to score and serve instead of
   *     training the kinds, or null
   * @param rounds how many inline phases per served model, each between two runs of the model alone
   *     on the same texts
   * @param serve the kind served inline (when trained; else the most accurate)
   * @param baseline another kind served inline in the same run, its rounds interleaved with the
   *     served one's (hot-swapped on the same app), for the speed-up; null: none
   * @param encoders sentence encoders whose embedding model is trained and scored side by side
   *     (MiniLM's is the {@code embedding} kind's when trained)
   * @param outOfScopeLabels this many labels held out of a second training of the served kind, to
   *     count how many of their test events it keeps; 0: skip
   * @param moreEncoders the served kind trained once more with an embedding member per encoder,
   *     MiniLM's and these, scored beside it; empty: skip
   */
  public record Options(
      List<LabeledText> train,
      List<LabeledText> test,
      String dataset,
      List<ModelKind> kinds,
      int events,
      int warmupEvents,
      Long commitIntervalMs,
      Path chart,
      String bootstrap,
      SpecialistModel model,
      int rounds,
      ModelKind serve,
      ModelKind baseline,
      int outOfScopeLabels,
      List<EncoderModel> encoders,
      List<EncoderModel> moreEncoders) {
    public Options {
      encoders = List.copyOf(encoders);
      moreEncoders = List.copyOf(moreEncoders);
      if (moreEncoders.contains(EncoderModel.MINILM)) {
        throw new IllegalArgumentException(
            "--more-encoders: MiniLM is always the first encoder; name the others");
      }
      if (kinds.isEmpty() && model == null) {
        throw new IllegalArgumentException("at least one model kind to benchmark");
      }
      if (events < 1) {
        throw new IllegalArgumentException("--events must be at least 1, was " + events);
      }
      if (rounds < 1 || rounds > events) {
        throw new IllegalArgumentException(
            "--rounds must be between 1 and --events, was " + rounds);
      }
      if (outOfScopeLabels < 0) {
        throw new IllegalArgumentException(
            "--out-of-scope-labels must be 0 or more, was " + outOfScopeLabels);
      }
    }
  }

  /** One model kind, trained and scored. */
  private record Scored(
      ModelKind kind,
      TrainedModel trained,
      EvaluationReport test,
      double trainingSeconds,
      List<double[]> curve) {}

  /** The requests of one inline phase as the bench saw them. */
  private record Streamed(
      int sent,
      int classified,
      int duplicates,
      long firstSentMs,
      long lastClassifiedMs,
      List<Double> latencyMs,
      Set<String> versions) {
    double seconds() {
      return Math.max(1, lastClassifiedMs - firstSentMs) / 1000.0;
    }

    double perS() {
      return classified / seconds();
    }
  }

  /**
   * One round: an inline phase, then the model alone on the same texts; and where the stream
   * thread's time went in the inline phase: its CPU time and the model's prediction time (mean, and
   * share of the round's wall time), and the JIT compiler's time in this JVM over the round.
   */
  private record Round(
      Streamed inline,
      double aloneBeforePerS,
      double aloneAfterPerS,
      StreamThreadTime spent,
      long jitMs) {
    double alonePerS() {
      return (aloneBeforePerS + aloneAfterPerS) / 2;
    }

    double ratio() {
      return inline.perS() / alonePerS();
    }

    double cpuShare() {
      return spent.cpuNanos() / (inline.seconds() * 1e9);
    }

    double predictShare() {
      return spent.predictNanos() / (inline.seconds() * 1e9);
    }

    double predictMsMean() {
      return spent.predictNanos() / 1e6 / Math.max(1, spent.predictions());
    }
  }

  private final Options options;
  private final Progress progress;
  private long commitIntervalMs;

  public SpecialistBench(Options options, java.io.PrintStream progressOut) {
    this.options = options;
    this.progress = new Progress(progressOut);
  }

  public ObjectNode run() throws Exception {
    Map<EncoderModel, long[]> cacheBefore = cacheCounts();
    List<Scored> scored = new ArrayList<>();
    if (options.model() != null) {
      scored.add(scoreSaved(options.model()));
    } else {
      for (ModelKind kind : options.kinds()) {
        scored.add(trainAndScore(kind));
      }
    }
    Scored best =
        scored.stream()
            .filter(s -> s.kind() == options.serve())
            .findFirst()
            .orElse(
                Collections.max(
                    scored, java.util.Comparator.comparingDouble(s -> s.test().accuracy())));
    Scored baseline =
        scored.stream()
            .filter(s -> s.kind() == options.baseline() && s != best)
            .findFirst()
            .orElse(null);
    Map<EncoderModel, Scored> encoders = new java.util.LinkedHashMap<>();
    if (options.model() == null) {
      for (EncoderModel e : options.encoders()) {
        Scored done =
            e == EncoderModel.MINILM
                ? scored.stream()
                    .filter(s -> s.kind() == ModelKind.EMBEDDING)
                    .findFirst()
                    .orElse(null)
                : null;
        encoders.put(e, done != null ? done : trainAndScore(ModelKind.EMBEDDING, e));
      }
    }
    Scored moreEncoders =
        options.model() == null
                && !options.moreEncoders().isEmpty()
                && best.kind() != ModelKind.HASHED
            ? trainAndScore(best.kind(), allEncoders())
            : null;
    OutOfScope outOfScope =
        options.model() == null && options.outOfScopeLabels() > 0 ? outOfScope(best.kind()) : null;
    List<Scored> served = baseline == null ? List.of(best) : List.of(best, baseline);
    progress.say(
        "serving the %s model inline through a real broker%s",
        best.kind().id(),
        baseline == null
            ? ""
            : ", and the " + baseline.kind().id() + " model in rounds between (hot-swapped)");
    Map<Scored, List<Round>> inline = inline(served);
    if (options.chart() != null) {
      chart(scored);
    }
    ObjectNode report = report(scored, best, baseline, inline, outOfScope);
    ObjectNode cache = report.putObject("embedding_cache");
    cacheCounts()
        .forEach(
            (e, after) -> {
              long[] before = cacheBefore.get(e);
              cache
                  .putObject(e.id())
                  .put("hits", after[0] - before[0])
                  .put("misses", after[1] - before[1]);
            });
    cache.put(
        "note",
        "texts the shared encoders embedded one at a time in this run (scoring, alone and inline), by whether"
            + " their small cache of exact vectors held them: hits are a text seen a few embeddings earlier, not the"
            + " test set coming round again");
    if (!encoders.isEmpty()) {
      ObjectNode enc = report.putObject("encoders");
      encoders.forEach(
          (e, sc) -> {
            ObjectNode o = enc.putObject(e.id());
            o.put("kind", sc.kind().id());
            putScores(o, sc);
            putCosts(o, sc);
            o.put("encoder_model_bytes", e.modelBytes());
          });
      enc.put(
          "note",
          "the embedding kind (softmax head) per sentence encoder, same recipe; events_per_s: one thread, one text"
              + " at a time; encoder_model_bytes: the int8 ONNX file shipped in its jar");
    }
    if (moreEncoders != null) {
      ObjectNode o = report.putObject("more_encoders");
      o.put("kind", moreEncoders.kind().id());
      o.put("encoders", encoderIds(allEncoders()));
      putScores(o, moreEncoders);
      putCosts(o, moreEncoders);
      putStageShares(o, moreEncoders);
      o.put("accuracy_one_encoder", GatewayBench.round(best.test().accuracy()));
      o.put("events_per_s_outside_kafka_one_encoder", Math.round(best.test().eventsPerS()));
      o.put(
          "note",
          "the served kind trained again with an embedding member per encoder (train --encoder "
              + encoderIds(allEncoders()).replace('+', ',')
              + "), averaged with the others; scored on the same test, one thread, one text at a"
              + " time; _one_encoder: the served model's");
    }
    return report;
  }

  /**
   * A scored model's test scores, the same keys in every section of the report: accuracy, macro-F1,
   * the threshold with the coverage and accuracy of what it keeps, and its speed outside Kafka.
   */
  private static void putScores(ObjectNode o, Scored s) {
    o.put("accuracy", GatewayBench.round(s.test().accuracy()));
    o.put("macro_f1", GatewayBench.round(s.test().macroF1()));
    o.put("threshold", GatewayBench.round(s.test().threshold()));
    o.put("coverage_at_threshold", GatewayBench.round(s.test().coverageAtThreshold()));
    o.put("accuracy_at_threshold", GatewayBench.round(s.test().accuracyAtThreshold()));
    o.put("events_per_s_outside_kafka", Math.round(s.test().eventsPerS()));
  }

  /** What a scored model cost: its training time (null for a saved model) and record size. */
  private static void putCosts(ObjectNode o, Scored s) {
    if (Double.isNaN(s.trainingSeconds())) {
      o.putNull("training_s"); // a saved model: not trained here
    } else {
      o.put("training_s", GatewayBench.round(s.trainingSeconds()));
    }
    o.put("record_bytes", SpecialistModels.recordBytes(s.trained().record()));
  }

  /** The share of the test events each stage decided. */
  private static void putStageShares(ObjectNode o, Scored s) {
    ObjectNode stages = o.putObject("stage_shares");
    s.test().stageShares().forEach((k, v) -> stages.put(k, GatewayBench.round(v)));
  }

  /** MiniLM, then {@code --more-encoders}. */
  private List<EncoderModel> allEncoders() {
    List<EncoderModel> all = new ArrayList<>();
    all.add(EncoderModel.MINILM);
    all.addAll(options.moreEncoders());
    return all;
  }

  private static String encoderIds(List<EncoderModel> encoders) {
    return String.join("+", encoders.stream().map(EncoderModel::id).toList());
  }

  /**
   * The served kind trained again without some labels: how many test events of those labels it
   * keeps (each a confident wrong label) with its out-of-scope calibration and without it, and how
   * much of the in-scope test it keeps.
   */
  private record OutOfScope(
      List<String> heldOutLabels,
      EvaluationReport inScope,
      OutOfScopeReport calibrated,
      EvaluationReport inScopeUncalibrated,
      OutOfScopeReport uncalibrated,
      List<TradeOffPoint> tradeOff) {}

  /**
   * One out-of-scope bound of the calibrated model's trade-off (its thresholds chosen on held-out
   * predictions under that bound), applied to the test: in-scope coverage and accuracy, and the
   * held-out labels' test events kept.
   */
  private record TradeOffPoint(
      double bound,
      double heldOutKept,
      double heldOutCoverage,
      EvaluationReport inScope,
      OutOfScopeReport unknown) {}

  private OutOfScope outOfScope(ModelKind kind) {
    List<String> labels =
        options.train().stream().map(LabeledText::label).distinct().sorted().toList();
    if (labels.size() - options.outOfScopeLabels() < 2) {
      progress.say("out of scope: skipped, %d labels leave too few to train on", labels.size());
      return null;
    }
    List<String> shuffled = new ArrayList<>(labels);
    Collections.shuffle(shuffled, new java.util.Random(OUT_OF_SCOPE_SEED));
    Set<String> held = new java.util.TreeSet<>(shuffled.subList(0, options.outOfScopeLabels()));
    List<LabeledText> train =
        options.train().stream().filter(e -> !held.contains(e.label())).toList();
    List<LabeledText> inScope =
        options.test().stream().filter(e -> !held.contains(e.label())).toList();
    List<String> unknown =
        options.test().stream()
            .filter(e -> held.contains(e.label()))
            .map(LabeledText::text)
            .toList();
    if (inScope.isEmpty() || unknown.isEmpty()) {
      progress.say("out of scope: skipped, the test set has no events of the held-out labels");
      return null;
    }
    progress.say(
        "out of scope: training the %s model without %d labels (%s) ...",
        kind.id(), held.size(), String.join(", ", held));
    TrainingOptions calibrated = TrainingOptions.defaults().withKind(kind);
    TrainedModel m =
        ModelTrainer.train(MODEL, train, calibrated, step -> progress.say("  oos: %s", step));
    EvaluationReport in =
        Evaluation.evaluate(m.classifier(), inScope, m.classifier().recommendedThreshold());
    OutOfScopeReport out =
        Evaluation.outOfScope(m.classifier(), unknown, m.classifier().recommendedThreshold());
    progress.say("out of scope, calibrated: in scope %s; %s", in.summary(), out.summary());
    List<TradeOffPoint> tradeOff = new java.util.ArrayList<>();
    if (m.classifier() instanceof SpecialistClassifier served
        && m.record().metrics().path("outOfScope").path("tradeOff").isArray()) {
      for (var point : m.record().metrics().path("outOfScope").path("tradeOff")) {
        SpecialistClassifier at =
            served.atThresholds(
                point.path("stageThreshold").asDouble(SpecialistClassifier.NEVER),
                point.path("threshold").asDouble());
        EvaluationReport inAt = Evaluation.evaluate(at, inScope, at.recommendedThreshold());
        OutOfScopeReport outAt = Evaluation.outOfScope(at, unknown, at.recommendedThreshold());
        TradeOffPoint p =
            new TradeOffPoint(
                point.path("keptTarget").asDouble(),
                point.path("kept").asDouble(),
                point.path("coverage").asDouble(),
                inAt,
                outAt);
        tradeOff.add(p);
        progress.say(
            "out of scope, bound %s on the test: in-scope coverage %.3f at %.3f accuracy; %.1f%% of"
                + " the held-out labels' events kept",
            p.bound(),
            inAt.coverageAtThreshold(),
            inAt.accuracyAtThreshold(),
            100 * outAt.keptShare());
      }
    }
    progress.say("out of scope: the same without the out-of-scope calibration ...");
    TrainedModel u =
        ModelTrainer.train(
            MODEL, train, calibrated.withOutOfScope(0, 1), step -> progress.say("  oos: %s", step));
    EvaluationReport inU =
        Evaluation.evaluate(u.classifier(), inScope, u.classifier().recommendedThreshold());
    OutOfScopeReport outU =
        Evaluation.outOfScope(u.classifier(), unknown, u.classifier().recommendedThreshold());
    progress.say("out of scope, uncalibrated: in scope %s; %s", inU.summary(), outU.summary());
    return new OutOfScope(List.copyOf(held), in, out, inU, outU, List.copyOf(tradeOff));
  }

  private static Map<EncoderModel, long[]> cacheCounts() {
    Map<EncoderModel, long[]> out = new java.util.EnumMap<>(EncoderModel.class);
    for (EncoderModel e : EncoderModel.values()) {
      var enc = SpecialistModels.sharedEncoder(e);
      out.put(e, new long[] {enc.cacheHits(), enc.cacheMisses()});
    }
    return out;
  }

  /** Which labels are held out: the same in every run on the same data. */
  static final long OUT_OF_SCOPE_SEED = 7;

  private Scored trainAndScore(ModelKind kind) {
    return trainAndScore(kind, EncoderModel.MINILM);
  }

  private Scored trainAndScore(ModelKind kind, EncoderModel encoder) {
    return trainAndScore(kind, List.of(encoder));
  }

  private Scored trainAndScore(ModelKind kind, List<EncoderModel> encoders) {
    String what =
        encoders.equals(List.of(EncoderModel.MINILM))
            ? kind.id()
            : kind.id() + "/" + encoderIds(encoders);
    progress.say("training the %s model on %d examples ...", what, options.train().size());
    long start = System.nanoTime();
    TrainedModel trained =
        ModelTrainer.train(
            MODEL,
            options.train(),
            TrainingOptions.defaults().withKind(kind).withEncoders(encoders),
            step -> progress.say("  %s: %s", what, step));
    double seconds = (System.nanoTime() - start) / 1e9;
    TextClassifier model = trained.classifier();
    EvaluationReport test =
        Evaluation.evaluate(model, options.test(), model.recommendedThreshold());
    progress.say(
        "%s: accuracy %.4f, macro-F1 %.4f, at threshold %.3f: coverage %.3f, accuracy %.4f; %.0f events/s;"
            + " trained in %.1f s",
        what,
        test.accuracy(),
        test.macroF1(),
        test.threshold(),
        test.coverageAtThreshold(),
        test.accuracyAtThreshold(),
        test.eventsPerS(),
        seconds);
    return new Scored(kind, trained, test, seconds, coverageCurve(model, options.test()));
  }

  /** The middle of sorted values (the mean of the two middle ones for an even count). */
  static double median(List<Double> sorted) {
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  /** A model saved by {@code train --out DIR}: scored like a trained one, not trained again. */
  private Scored scoreSaved(SpecialistModel record) {
    TextClassifier model = SpecialistModels.load(record);
    ModelKind kind = ModelKind.ofFormat(record.format());
    progress.say(
        "scoring the saved %s model %s (%s) on %d examples ...",
        kind.id(), record.name(), record.version(), options.test().size());
    EvaluationReport test =
        Evaluation.evaluate(model, options.test(), model.recommendedThreshold());
    progress.say(
        "%s: accuracy %.4f, macro-F1 %.4f, at threshold %.3f: coverage %.3f, accuracy %.4f; %.0f events/s",
        kind.id(),
        test.accuracy(),
        test.macroF1(),
        test.threshold(),
        test.coverageAtThreshold(),
        test.accuracyAtThreshold(),
        test.eventsPerS());
    return new Scored(
        kind,
        new TrainedModel(model, record, null),
        test,
        Double.NaN,
        coverageCurve(model, options.test()));
  }

  /**
   * Coverage and accuracy of the kept events at every threshold that keeps one more event:
   * {coverage, accuracy}, from all events kept to the single most confident one.
   */
  static List<double[]> coverageCurve(TextClassifier model, List<LabeledText> test) {
    List<Prediction> predictions = model.predictAll(test.stream().map(LabeledText::text).toList());
    Integer[] order = new Integer[test.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(
        order,
        (a, b) -> Double.compare(predictions.get(b).confidence(), predictions.get(a).confidence()));
    List<double[]> curve = new ArrayList<>();
    int right = 0;
    for (int k = 0; k < order.length; k++) {
      right += predictions.get(order[k]).label().equals(test.get(order[k]).label()) ? 1 : 0;
      curve.add(new double[] {(k + 1) / (double) order.length, right / (double) (k + 1)});
    }
    Collections.reverse(curve);
    return curve;
  }

  /**
   * Serves each model in turn on one app (a hot swap: its record published on the bench's {@code
   * specialist-models}), each warmed up once, then {@code rounds} rounds of each, interleaved (the
   * first model first in odd rounds, last in even ones) so that both meet the machine's drift
   * alike.
   */
  private Map<Scored, List<Round>> inline(List<Scored> models) throws Exception {
    String prefix = "bench-" + UUID.randomUUID().toString().substring(0, 8) + ".";
    Path state = Files.createTempDirectory("llmstreams-bench");
    try (BenchCluster cluster = BenchCluster.start(options.bootstrap(), progress)) {
      TopicCatalog catalog = TopicCatalog.load().withPrefix(prefix);
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", cluster.bootstrap()))) {
        new TopicAdmin(admin, (short) -1).apply(catalog.all(), false);
      }
      Map<String, String> settings = cluster.appSettings(prefix, state);
      // The name the app serves: the bench's own (MODEL) for models it trained, a saved model's
      // (--model) for that one; it is part of the record's digest, so it cannot be renamed.
      settings.put(
          AppConfig.SPECIALIST_MODEL_NAME,
          servedName(models.stream().map(m -> m.trained().record()).toList()));
      // Annotation alone is measured: with threshold 0 no event is escalated (the escalation share
      // is reported from the test set instead). A cascade's first stage still decides what it is
      // sure of; its ensemble labels the rest.
      settings.put(AppConfig.SPECIALIST_THRESHOLD, "0");
      if (options.commitIntervalMs() != null) {
        settings.put(AppConfig.COMMIT_INTERVAL_MS, Long.toString(options.commitIntervalMs()));
      }
      AppConfig config = AppConfig.load(null, Map.of(), settings);
      commitIntervalMs = config.getLong(AppConfig.COMMIT_INTERVAL_MS);
      SpecialistModule module = new SpecialistModule();
      Map<Scored, List<Round>> rounds = new java.util.LinkedHashMap<>();
      try (Observability observability = new Observability();
          LlmStreamsApp app = new LlmStreamsApp(config, catalog, observability)) {
        app.start(List.of(module));
        BenchCluster.awaitReady(app);
        int warmup = options.warmupEvents() / models.size();
        for (Scored m : models) {
          serve(cluster, catalog, module, m);
          progress.say(
              "model %s (%s) in service; warming up with %d events",
              m.trained().record().version(), m.kind().id(), warmup);
          if (warmup > 0) {
            stream(cluster, catalog, warmup, options.events(), "warm-up " + m.kind().id());
          }
          rounds.put(m, new ArrayList<>());
        }
        // Rounds: the model alone on a round's texts, the same texts inline, then alone again (the
        // broker and the app up and idle; one thread, one prediction per event). The inline rate
        // is compared with the mean of the two alone rates around it, so a machine that speeds up
        // or slows down over a round weighs on both sides alike.
        int offset = 0;
        for (int r = 0; r < options.rounds(); r++) {
          int n = (options.events() - offset) / (options.rounds() - r);
          List<LabeledText> texts = new ArrayList<>();
          for (int i = 0; i < n; i++) {
            texts.add(options.test().get((offset + i) % options.test().size()));
          }
          List<Scored> order = new ArrayList<>(models);
          if (r % 2 == 1) {
            Collections.reverse(order);
          }
          for (Scored m : order) {
            if (models.size() > 1) {
              serve(cluster, catalog, module, m);
            }
            rounds.get(m).add(round(cluster, catalog, observability, m, texts, offset, r));
          }
          offset += n;
        }
        return rounds;
      }
    } finally {
      Folders.deleteQuietly(state);
    }
  }

  /** Publishes the model's record and waits until the specialist serves it. */
  private void serve(BenchCluster cluster, TopicCatalog catalog, SpecialistModule module, Scored m)
      throws Exception {
    publish(cluster, catalog, m.trained().record());
    awaitServed(module, m.trained().record().version());
  }

  private Round round(
      BenchCluster cluster,
      TopicCatalog catalog,
      Observability observability,
      Scored m,
      List<LabeledText> texts,
      int offset,
      int r)
      throws Exception {
    TextClassifier model = m.trained().classifier();
    double aloneBefore = Evaluation.evaluate(model, texts, 0).eventsPerS();
    StreamThreadTime before = StreamThreadTime.of(observability.registry());
    long jitBefore = jitMs();
    Streamed inline =
        stream(
            cluster,
            catalog,
            texts.size(),
            offset,
            "round " + (r + 1) + " " + m.kind().id() + " inline");
    StreamThreadTime spent = StreamThreadTime.of(observability.registry()).minus(before);
    long jit = jitMs() - jitBefore;
    double aloneAfter = Evaluation.evaluate(model, texts, 0).eventsPerS();
    Round round = new Round(inline, aloneBefore, aloneAfter, spent, jit);
    progress.say(
        "round %d, %s: inline %.1f events/s, the model alone %.1f events/s (%.1f before, %.1f after): ratio"
            + " %.3f (inline, a prediction took %.2f ms on average, %.0f%% of the time; the stream thread was on a"
            + " CPU %.0f%% of the time; JIT compiling %.1f s)",
        r + 1,
        m.kind().id(),
        inline.perS(),
        round.alonePerS(),
        aloneBefore,
        aloneAfter,
        round.ratio(),
        round.predictMsMean(),
        100 * round.predictShare(),
        100 * round.cpuShare(),
        jit / 1000.0);
    return round;
  }

  /** Milliseconds this JVM's JIT compilers have spent so far (-1 when the JVM does not say). */
  private static long jitMs() {
    var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
    return jit != null && jit.isCompilationTimeMonitoringSupported()
        ? jit.getTotalCompilationTime()
        : -1;
  }

  /**
   * Cumulative time of the app's stream threads: CPU time (the JVM's per-thread clock) and the time
   * the model took to label events ({@code llmstreams.specialist.inference}), with the count.
   */
  private record StreamThreadTime(long cpuNanos, double predictNanos, long predictions) {
    static StreamThreadTime of(io.micrometer.core.instrument.MeterRegistry registry) {
      java.lang.management.ThreadMXBean threads =
          java.lang.management.ManagementFactory.getThreadMXBean();
      long cpu = 0;
      for (Thread t : Thread.getAllStackTraces().keySet()) {
        if (t.getName().contains("-StreamThread-")) {
          cpu += Math.max(0, threads.getThreadCpuTime(t.getId()));
        }
      }
      double predictNanos = 0;
      long predictions = 0;
      for (io.micrometer.core.instrument.Timer t :
          registry.find("llmstreams.specialist.inference").timers()) {
        predictNanos += t.totalTime(java.util.concurrent.TimeUnit.NANOSECONDS);
        predictions += t.count();
      }
      return new StreamThreadTime(cpu, predictNanos, predictions);
    }

    StreamThreadTime minus(StreamThreadTime before) {
      return new StreamThreadTime(
          cpuNanos - before.cpuNanos,
          predictNanos - before.predictNanos,
          predictions - before.predictions);
    }
  }

  /** The one model name of the models served in a run (a hot swap replaces a name's model). */
  static String servedName(List<SpecialistModel> records) {
    java.util.Set<String> names = new java.util.TreeSet<>();
    records.forEach(r -> names.add(r.name()));
    if (names.size() != 1) {
      throw new IllegalArgumentException(
          "the models served in one run need one name, not " + names);
    }
    return names.iterator().next();
  }

  private static void publish(BenchCluster cluster, TopicCatalog catalog, SpecialistModel record)
      throws Exception {
    Topic<SpecialistModel> models = catalog.topic(Topics.SPECIALIST_MODELS);
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
    pp.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 9 * 1024 * 1024);
    try (KafkaProducer<String, SpecialistModel> producer =
        new KafkaProducer<>(pp, models.keySerde().serializer(), models.valueSerde().serializer())) {
      producer.send(new ProducerRecord<>(models.name(), record.name(), record)).get();
    }
  }

  private void awaitServed(SpecialistModule module, String version) throws InterruptedException {
    Instant giveUp = Instant.now().plusSeconds(120);
    while (module.currentModel().get() == null
        || !module.currentModel().get().version().equals(version)) {
      if (Instant.now().isAfter(giveUp)) {
        throw new IllegalStateException(
            "the specialist did not load model " + version + " within 120 s");
      }
      Thread.sleep(50);
    }
  }

  /**
   * Produces n requests as fast as the producer takes them and waits until each has its committed
   * classification (read_committed: when a user could read it).
   */
  private Streamed stream(
      BenchCluster cluster, TopicCatalog catalog, int n, int offset, String label)
      throws Exception {
    Topic<ClassificationRequest> requests = catalog.topic(Topics.CLASSIFICATION_REQUESTS);
    Topic<Classification> classifications = catalog.topic(Topics.CLASSIFICATIONS);
    String run = label + "-" + UUID.randomUUID().toString().substring(0, 6) + "-";
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    Set<String> seen = new HashSet<>();
    Set<String> versions = new HashSet<>();
    List<Double> latencyMs = new ArrayList<>();
    int duplicates = 0;
    try (KafkaConsumer<String, String> consumer =
            cluster.committedReader(classifications.name(), false);
        KafkaProducer<String, ClassificationRequest> producer =
            new KafkaProducer<>(
                pp, requests.keySerde().serializer(), requests.valueSerde().serializer())) {
      long first = System.currentTimeMillis();
      for (int i = 0; i < n; i++) {
        String id = run + i;
        String text = options.test().get((offset + i) % options.test().size()).text();
        producer.send(
            new ProducerRecord<>(requests.name(), id, new ClassificationRequest(id, text, null)));
      }
      producer.flush();
      long last = first;
      long lastReport = System.nanoTime();
      Instant giveUp = Instant.now().plusSeconds(120 + n / 50);
      while (seen.size() < n && Instant.now().isBefore(giveUp)) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(50))) {
          if (r.key() == null || !r.key().startsWith(run)) {
            continue;
          }
          Classification c =
              classifications
                  .valueSerde()
                  .deserializer()
                  .deserialize(classifications.name(), r.value().getBytes(StandardCharsets.UTF_8));
          if (!seen.add(c.eventId())) {
            duplicates++;
            continue;
          }
          last = System.currentTimeMillis();
          latencyMs.add(c.latencyMicros() / 1000.0);
          versions.add(c.modelVersion());
        }
        if (System.nanoTime() - lastReport > 2_000_000_000L) {
          progress.say("%s: %d/%d classified", label, seen.size(), n);
          lastReport = System.nanoTime();
        }
      }
      progress.say(
          "%s: %d/%d classified in %.2f s", label, seen.size(), n, (last - first) / 1000.0);
      return new Streamed(n, seen.size(), duplicates, first, last, latencyMs, versions);
    }
  }

  /**
   * Accuracy against coverage of each model along its thresholds, with each model's own threshold
   * marked.
   */
  private void chart(List<Scored> scored) throws java.io.IOException {
    SvgChart chart =
        new SvgChart(
            "Specialist, " + options.dataset() + " test: accuracy against coverage",
            new SvgChart.Axis(
                "coverage (share of events the model keeps; the rest are escalated)",
                SvgChart.Scale.LINEAR),
            new SvgChart.Axis("accuracy of the kept events", SvgChart.Scale.LINEAR_FROM_DATA));
    for (Scored s : scored) {
      List<SvgChart.Point> points = new ArrayList<>();
      int step = Math.max(1, s.curve().size() / 100);
      for (int i = 0; i < s.curve().size(); i += step) {
        points.add(new SvgChart.Point(s.curve().get(i)[0], s.curve().get(i)[1]));
      }
      points.add(
          new SvgChart.Point(
              s.curve().get(s.curve().size() - 1)[0], s.curve().get(s.curve().size() - 1)[1]));
      chart.add(new SvgChart.Series(s.kind().id(), points, false, false));
      chart.add(
          new SvgChart.Series(
              s.kind().id() + " at its threshold",
              List.of(
                  new SvgChart.Point(
                      s.test().coverageAtThreshold(),
                      s.test().accuracyAtThreshold(),
                      String.format(
                          java.util.Locale.ROOT, "%s %.2f", s.kind().id(), s.test().threshold()))),
              false,
              true));
    }
    chart.write(options.chart());
    progress.say("chart written to %s", options.chart());
  }

  private ObjectNode report(
      List<Scored> scored,
      Scored best,
      Scored baseline,
      Map<Scored, List<Round>> inline,
      OutOfScope outOfScope) {
    ObjectNode report = JsonNodeFactory.instance.objectNode();
    report.put("benchmark", "specialist");
    report.put("dataset", options.dataset());
    report.put("train_examples", options.model() == null ? options.train().size() : 0);
    report.put("test_examples", options.test().size());
    if (options.model() != null) {
      report.put("saved_model", options.model().name() + " " + options.model().version());
    }
    ObjectNode models = report.putObject("models");
    for (Scored s : scored) {
      ObjectNode m = models.putObject(s.kind().id());
      m.put("format", s.trained().record().format());
      putScores(m, s);
      m.put("escalated_share_at_threshold", GatewayBench.round(1 - s.test().coverageAtThreshold()));
      putCosts(m, s);
      putStageShares(m, s);
      if (s.trained().classifier() instanceof SpecialistClassifier c
          && c.kind() == ModelKind.CASCADE) {
        m.put("stage_threshold", GatewayBench.round(c.stageThreshold()));
      }
    }
    report.put("best_model", best.kind().id());
    report.put("served_model", best.kind().id());
    ObjectNode served = inlineJson(best, inline.get(best));
    report.set("inline", served);
    if (baseline != null) {
      ObjectNode base = inlineJson(baseline, inline.get(baseline));
      report.set("inline_baseline", base);
      double speedup =
          served.get("events_per_s_inline").asDouble() / base.get("events_per_s_inline").asDouble();
      report.put("inline_speedup", GatewayBench.round(speedup));
      List<Double> perRound = new ArrayList<>();
      for (int r = 0; r < inline.get(best).size(); r++) {
        perRound.add(
            inline.get(best).get(r).inline().perS() / inline.get(baseline).get(r).inline().perS());
      }
      Collections.sort(perRound);
      report.put("inline_speedup_median_round", GatewayBench.round(median(perRound)));
      progress.say(
          "inline: %s %.1f events/s, %s %.1f events/s: %.2fx (median of rounds %.2fx)",
          best.kind().id(),
          served.get("events_per_s_inline").asDouble(),
          baseline.kind().id(),
          base.get("events_per_s_inline").asDouble(),
          speedup,
          median(perRound));
    }
    if (outOfScope != null) {
      ObjectNode o = report.putObject("out_of_scope");
      o.put("model", best.kind().id());
      o.put("held_out_labels", String.join(",", outOfScope.heldOutLabels()));
      o.put("label_count", outOfScope.heldOutLabels().size());
      o.put("events", outOfScope.calibrated().events());
      o.put("kept_share", GatewayBench.round(outOfScope.calibrated().keptShare()));
      o.put("in_scope_accuracy", GatewayBench.round(outOfScope.inScope().accuracy()));
      o.put(
          "in_scope_coverage_at_threshold",
          GatewayBench.round(outOfScope.inScope().coverageAtThreshold()));
      o.put(
          "in_scope_accuracy_at_threshold",
          GatewayBench.round(outOfScope.inScope().accuracyAtThreshold()));
      o.put("threshold", GatewayBench.round(outOfScope.calibrated().threshold()));
      o.put("kept_share_uncalibrated", GatewayBench.round(outOfScope.uncalibrated().keptShare()));
      o.put(
          "in_scope_coverage_uncalibrated",
          GatewayBench.round(outOfScope.inScopeUncalibrated().coverageAtThreshold()));
      o.put(
          "in_scope_accuracy_at_threshold_uncalibrated",
          GatewayBench.round(outOfScope.inScopeUncalibrated().accuracyAtThreshold()));
      var points = o.putArray("trade_off");
      for (TradeOffPoint p : outOfScope.tradeOff()) {
        points
            .addObject()
            .put("out_of_scope_kept_bound", p.bound())
            .put("held_out_kept", GatewayBench.round(p.heldOutKept()))
            .put("held_out_coverage", GatewayBench.round(p.heldOutCoverage()))
            .put(
                "in_scope_coverage_at_threshold",
                GatewayBench.round(p.inScope().coverageAtThreshold()))
            .put(
                "in_scope_accuracy_at_threshold",
                GatewayBench.round(p.inScope().accuracyAtThreshold()))
            .put("kept_share", GatewayBench.round(p.unknown().keptShare()));
      }
      o.put(
          "note",
          "the served kind trained without these labels (seeded pick); kept_share: the share of the test events"
              + " of those labels it keeps at its threshold (confident wrong labels), the rest are escalated;"
              + " _uncalibrated: the same recipe without out-of-scope calibration; trade_off: the calibrated"
              + " model at the thresholds each train --out-of-scope-kept bound would have chosen on the same"
              + " held-out predictions (its metrics' outOfScope.tradeOff), applied to the test");
    }
    report.put("cpus", Runtime.getRuntime().availableProcessors());
    report.put(
        "system_load_average_1m",
        GatewayBench.round(
            java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                .getSystemLoadAverage()));
    return report;
  }

  /** One served model's inline rounds, totals and notes. */
  private ObjectNode inlineJson(Scored best, List<Round> rounds) {
    ObjectNode in = JsonNodeFactory.instance.objectNode();
    int sent = 0;
    int classified = 0;
    int duplicates = 0;
    double inlineSeconds = 0;
    double aloneSeconds = 0;
    Set<String> versions = new java.util.TreeSet<>();
    List<Double> latency = new ArrayList<>();
    List<Double> ratios = new ArrayList<>();
    ArrayNode perRound = JsonNodeFactory.instance.arrayNode();
    for (Round r : rounds) {
      sent += r.inline().sent();
      classified += r.inline().classified();
      duplicates += r.inline().duplicates();
      inlineSeconds += r.inline().seconds();
      aloneSeconds += r.inline().sent() / r.alonePerS();
      versions.addAll(r.inline().versions());
      latency.addAll(r.inline().latencyMs());
      ratios.add(r.ratio());
      perRound
          .addObject()
          .put("events", r.inline().sent())
          .put("events_per_s_inline", GatewayBench.round(r.inline().perS()))
          .put("events_per_s_model_alone", GatewayBench.round(r.alonePerS()))
          .put("events_per_s_model_alone_before", GatewayBench.round(r.aloneBeforePerS()))
          .put("events_per_s_model_alone_after", GatewayBench.round(r.aloneAfterPerS()))
          .put("ratio_inline_to_model", GatewayBench.round(r.ratio()))
          .put("prediction_ms_mean_inline", GatewayBench.round(r.predictMsMean()))
          .put("prediction_ms_mean_alone", GatewayBench.round(1000 / r.alonePerS()))
          .put("prediction_share_of_inline_time", GatewayBench.round(r.predictShare()))
          .put("stream_thread_cpu_share", GatewayBench.round(r.cpuShare()))
          .put("jit_compile_s", r.jitMs() < 0 ? Double.NaN : r.jitMs() / 1000.0);
    }
    Collections.sort(ratios);
    in.put("model", best.kind().id());
    in.put("events", sent);
    in.put("classified", classified);
    in.put("lost", sent - classified);
    in.put("duplicate_classifications", duplicates);
    in.put("model_versions", String.join(",", versions));
    in.put("warmup_events", options.warmupEvents());
    in.put("commit_interval_ms", commitIntervalMs);
    in.put("events_per_s_inline", GatewayBench.round(classified / inlineSeconds));
    in.put("events_per_s_model_alone", GatewayBench.round(sent / aloneSeconds));
    in.put("ratio_inline_to_model", GatewayBench.round(median(ratios)));
    in.put(
        "ratio_of_totals",
        GatewayBench.round((classified / inlineSeconds) / (sent / aloneSeconds)));
    in.put("ratio_min", GatewayBench.round(ratios.get(0)));
    in.put("ratio_max", GatewayBench.round(ratios.get(ratios.size() - 1)));
    in.set("rounds", perRound);
    ArrayNode note = in.putArray("notes");
    note.add(
        "inline: from the first request of a round produced to its last classification committed"
            + " (read_committed), one stream thread, exactly-once; threshold 0 so no event is escalated");
    note.add(
        "model alone: the mean of two runs on the round's texts, one right before and one right after its inline"
            + " phase, with the broker and the app up and idle: one thread, one predict per event, after a warm-up");
    note.add(
        "ratio_inline_to_model: the median of the rounds' ratios; ratio_of_totals: all inline events over all"
            + " inline time, against all alone events over all alone time");
    note.add(
        "per round, where the inline time went: prediction_ms_mean_inline against prediction_ms_mean_alone is"
            + " the model slowed by sharing the CPUs with the broker and Kafka clients; prediction_share_of_inline_time is"
            + " the share of the round's wall time the model was predicting (the rest is Kafka's work per event, commits"
            + " and waits); stream_thread_cpu_share is the stream thread's CPU time over the wall time; jit_compile_s is"
            + " the JIT compilers' time in this JVM during the round");
    Collections.sort(latency);
    in.put("in_app_latency_ms_p50", GatewayBench.round(GatewayBench.percentile(latency, 0.50)));
    in.put("in_app_latency_ms_p99", GatewayBench.round(GatewayBench.percentile(latency, 0.99)));
    return in;
  }
}
