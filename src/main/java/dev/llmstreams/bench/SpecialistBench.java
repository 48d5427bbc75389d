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
import dev.llmstreams.specialist.SpecialistModule;
import dev.llmstreams.specialist.model.Evaluation;
import dev.llmstreams.specialist.model.EvaluationReport;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.Prediction;
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
 * {@code bench specialist}: each model kind trained on the training file and scored on the test file (accuracy, macro
 * F1, and the share and accuracy of events kept at the model's own threshold), then the best one served by the
 * specialist over a real broker: events per second from produced requests to committed classifications, against
 * the same model's speed outside Kafka (one thread, one prediction per event, as a stream thread calls it).
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
   */
  public record Options(List<LabeledText> train, List<LabeledText> test, String dataset, List<ModelKind> kinds,
      int events, int warmupEvents, Long commitIntervalMs, Path chart, String bootstrap) {
    public Options {
      if (kinds.isEmpty()) {
        throw new IllegalArgumentException("at least one model kind to benchmark");
      }
      if (events < 1) {
        throw new IllegalArgumentException("--events must be at least 1, was " + events);
      }
    }
  }

  /** One model kind, trained and scored. */
  private record Scored(ModelKind kind, TrainedModel trained, EvaluationReport test, double trainingSeconds,
      List<double[]> curve) {}

  /** The requests of one inline phase as the bench saw them. */
  private record Streamed(int sent, int classified, int duplicates, long firstSentMs, long lastClassifiedMs,
      List<Double> latencyMs, Set<String> versions, double modelAlonePerS) {}

  private final Options options;
  private final Progress progress;
  private long commitIntervalMs;

  public SpecialistBench(Options options, java.io.PrintStream progressOut) {
    this.options = options;
    this.progress = new Progress(progressOut);
  }

  public ObjectNode run() throws Exception {
    List<Scored> scored = new ArrayList<>();
    for (ModelKind kind : options.kinds()) {
      scored.add(trainAndScore(kind));
    }
    Scored best = Collections.max(scored, java.util.Comparator.comparingDouble(s -> s.test().accuracy()));
    progress.say("serving the %s model inline through a real broker", best.kind().id());
    Streamed inline = inline(best.trained());
    if (options.chart() != null) {
      chart(scored);
    }
    return report(scored, best, inline);
  }

  private Scored trainAndScore(ModelKind kind) {
    progress.say("training the %s model on %d examples ...", kind.id(), options.train().size());
    long start = System.nanoTime();
    TrainedModel trained = ModelTrainer.train(MODEL, options.train(), TrainingOptions.defaults().withKind(kind),
        step -> progress.say("  %s: %s", kind.id(), step));
    double seconds = (System.nanoTime() - start) / 1e9;
    TextClassifier model = trained.classifier();
    EvaluationReport test = Evaluation.evaluate(model, options.test(), model.recommendedThreshold());
    progress.say("%s: accuracy %.4f, macro-F1 %.4f, at threshold %.3f: coverage %.3f, accuracy %.4f; %.0f events/s;"
            + " trained in %.1f s", kind.id(), test.accuracy(), test.macroF1(), test.threshold(),
        test.coverageAtThreshold(), test.accuracyAtThreshold(), test.eventsPerS(), seconds);
    return new Scored(kind, trained, test, seconds, coverageCurve(model, options.test()));
  }

  /**
   * Coverage and accuracy of the kept events at every threshold that keeps one more event: {coverage, accuracy},
   * from all events kept to the single most confident one.
   */
  static List<double[]> coverageCurve(TextClassifier model, List<LabeledText> test) {
    List<Prediction> predictions = model.predictAll(test.stream().map(LabeledText::text).toList());
    Integer[] order = new Integer[test.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, (a, b) -> Double.compare(predictions.get(b).confidence(), predictions.get(a).confidence()));
    List<double[]> curve = new ArrayList<>();
    int right = 0;
    for (int k = 0; k < order.length; k++) {
      right += predictions.get(order[k]).label().equals(test.get(order[k]).label()) ? 1 : 0;
      curve.add(new double[] {(k + 1) / (double) order.length, right / (double) (k + 1)});
    }
    Collections.reverse(curve);
    return curve;
  }

  private Streamed inline(TrainedModel trained) throws Exception {
    SpecialistModel record = trained.record();
    String prefix = "bench-" + UUID.randomUUID().toString().substring(0, 8) + ".";
    Path state = Files.createTempDirectory("llmstreams-bench");
    try (BenchCluster cluster = BenchCluster.start(options.bootstrap(), progress)) {
      TopicCatalog catalog = TopicCatalog.load().withPrefix(prefix);
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", cluster.bootstrap()))) {
        new TopicAdmin(admin, (short) -1).apply(catalog.all(), false);
      }
      Map<String, String> settings = cluster.appSettings(prefix, state);
      settings.put(AppConfig.SPECIALIST_MODEL_NAME, MODEL);
      // Annotation alone is measured: with threshold 0 no event is escalated (the escalation share is reported
      // from the test set instead).
      settings.put(AppConfig.SPECIALIST_THRESHOLD, "0");
      if (options.commitIntervalMs() != null) {
        settings.put(AppConfig.COMMIT_INTERVAL_MS, Long.toString(options.commitIntervalMs()));
      }
      AppConfig config = AppConfig.load(null, Map.of(), settings);
      commitIntervalMs = config.getLong(AppConfig.COMMIT_INTERVAL_MS);
      SpecialistModule module = new SpecialistModule();
      try (Observability observability = new Observability();
          LlmStreamsApp app = new LlmStreamsApp(config, catalog, observability)) {
        app.start(List.of(module));
        BenchCluster.awaitReady(app);
        publish(cluster, catalog, record);
        awaitServed(module, record.version());
        progress.say("model %s in service; warming up with %d events", record.version(), options.warmupEvents());
        if (options.warmupEvents() > 0) {
          stream(cluster, catalog, options.warmupEvents(), "warm-up");
        }
        Streamed inline = stream(cluster, catalog, options.events(), "events");
        // The model alone, right after and in the same conditions (the broker and the app up, idle): same texts,
        // one thread, one prediction per event.
        List<LabeledText> texts = new ArrayList<>();
        for (int i = 0; i < options.events(); i++) {
          texts.add(options.test().get(i % options.test().size()));
        }
        double alone = Evaluation.evaluate(trained.classifier(), texts, 0).eventsPerS();
        progress.say("the model alone: %.1f events/s", alone);
        return new Streamed(inline.sent(), inline.classified(), inline.duplicates(), inline.firstSentMs(),
            inline.lastClassifiedMs(), inline.latencyMs(), inline.versions(), alone);
      }
    } finally {
      GatewayBench.deleteQuietly(state);
    }
  }

  private static void publish(BenchCluster cluster, TopicCatalog catalog, SpecialistModel record) throws Exception {
    Topic<SpecialistModel> models = catalog.topic(Topics.SPECIALIST_MODELS);
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
    pp.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 9 * 1024 * 1024);
    try (KafkaProducer<String, SpecialistModel> producer = new KafkaProducer<>(pp, models.keySerde().serializer(),
        models.valueSerde().serializer())) {
      producer.send(new ProducerRecord<>(models.name(), record.name(), record)).get();
    }
  }

  private void awaitServed(SpecialistModule module, String version) throws InterruptedException {
    Instant giveUp = Instant.now().plusSeconds(120);
    while (module.currentModel().get() == null || !module.currentModel().get().version().equals(version)) {
      if (Instant.now().isAfter(giveUp)) {
        throw new IllegalStateException("the specialist did not load model " + version + " within 120 s");
      }
      Thread.sleep(50);
    }
  }

  /**
   * Produces n requests as fast as the producer takes them and waits until each has its committed classification
   * (read_committed: when a user could read it).
   */
  private Streamed stream(BenchCluster cluster, TopicCatalog catalog, int n, String label) throws Exception {
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
    try (KafkaConsumer<String, String> consumer = cluster.committedReader(classifications.name(), false);
        KafkaProducer<String, ClassificationRequest> producer = new KafkaProducer<>(pp,
            requests.keySerde().serializer(), requests.valueSerde().serializer())) {
      long first = System.currentTimeMillis();
      for (int i = 0; i < n; i++) {
        String id = run + i;
        String text = options.test().get(i % options.test().size()).text();
        producer.send(new ProducerRecord<>(requests.name(), id, new ClassificationRequest(id, text, null)));
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
          Classification c = classifications.valueSerde().deserializer().deserialize(classifications.name(),
              r.value().getBytes(StandardCharsets.UTF_8));
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
      progress.say("%s: %d/%d classified in %.2f s", label, seen.size(), n, (last - first) / 1000.0);
      return new Streamed(n, seen.size(), duplicates, first, last, latencyMs, versions, Double.NaN);
    }
  }

  /** Accuracy against coverage of each model along its thresholds, with each model's own threshold marked. */
  private void chart(List<Scored> scored) throws java.io.IOException {
    SvgChart chart = new SvgChart("Specialist, " + options.dataset() + " test: accuracy against coverage",
        new SvgChart.Axis("coverage (share of events the model keeps; the rest are escalated)", SvgChart.Scale.LINEAR),
        new SvgChart.Axis("accuracy of the kept events", SvgChart.Scale.LINEAR_FROM_DATA));
    for (Scored s : scored) {
      List<SvgChart.Point> points = new ArrayList<>();
      int step = Math.max(1, s.curve().size() / 100);
      for (int i = 0; i < s.curve().size(); i += step) {
        points.add(new SvgChart.Point(s.curve().get(i)[0], s.curve().get(i)[1]));
      }
      points.add(new SvgChart.Point(s.curve().get(s.curve().size() - 1)[0], s.curve().get(s.curve().size() - 1)[1]));
      chart.add(new SvgChart.Series(s.kind().id(), points, false, false));
      chart.add(new SvgChart.Series(s.kind().id() + " at its threshold", List.of(new SvgChart.Point(
          s.test().coverageAtThreshold(), s.test().accuracyAtThreshold(),
          String.format(java.util.Locale.ROOT, "%s %.2f", s.kind().id(), s.test().threshold()))), false, true));
    }
    chart.write(options.chart());
    progress.say("chart written to %s", options.chart());
  }

  private ObjectNode report(List<Scored> scored, Scored best, Streamed inline) {
    ObjectNode report = JsonNodeFactory.instance.objectNode();
    report.put("benchmark", "specialist");
    report.put("dataset", options.dataset());
    report.put("train_examples", options.train().size());
    report.put("test_examples", options.test().size());
    ObjectNode models = report.putObject("models");
    for (Scored s : scored) {
      ObjectNode m = models.putObject(s.kind().id());
      m.put("format", s.trained().record().format());
      m.put("accuracy", GatewayBench.round(s.test().accuracy()));
      m.put("macro_f1", GatewayBench.round(s.test().macroF1()));
      m.put("threshold", GatewayBench.round(s.test().threshold()));
      m.put("coverage_at_threshold", GatewayBench.round(s.test().coverageAtThreshold()));
      m.put("accuracy_at_threshold", GatewayBench.round(s.test().accuracyAtThreshold()));
      m.put("escalated_share_at_threshold", GatewayBench.round(1 - s.test().coverageAtThreshold()));
      m.put("events_per_s_outside_kafka", Math.round(s.test().eventsPerS()));
      m.put("training_s", GatewayBench.round(s.trainingSeconds()));
      m.put("record_bytes", SpecialistModels.recordBytes(s.trained().record()));
    }
    report.put("best_model", best.kind().id());
    ObjectNode in = report.putObject("inline");
    double seconds = Math.max(1, inline.lastClassifiedMs() - inline.firstSentMs()) / 1000.0;
    double inlinePerS = inline.classified() / seconds;
    double own = inline.modelAlonePerS();
    in.put("model", best.kind().id());
    in.put("events", inline.sent());
    in.put("classified", inline.classified());
    in.put("lost", inline.sent() - inline.classified());
    in.put("duplicate_classifications", inline.duplicates());
    in.put("model_versions", String.join(",", inline.versions()));
    in.put("warmup_events", options.warmupEvents());
    in.put("commit_interval_ms", commitIntervalMs);
    in.put("events_per_s_inline", GatewayBench.round(inlinePerS));
    in.put("events_per_s_model_alone", GatewayBench.round(own));
    in.put("ratio_inline_to_model", GatewayBench.round(inlinePerS / own));
    ArrayNode note = in.putArray("notes");
    note.add("inline: from the first request produced to the last classification committed (read_committed), one"
        + " stream thread, exactly-once; threshold 0 so no event is escalated");
    note.add("model alone: the same texts right after the inline phase, with the broker and the app up and idle: one"
        + " thread, one predict per event, after a warm-up");
    List<Double> latency = new ArrayList<>(inline.latencyMs());
    Collections.sort(latency);
    in.put("in_app_latency_ms_p50", GatewayBench.round(GatewayBench.percentile(latency, 0.50)));
    in.put("in_app_latency_ms_p99", GatewayBench.round(GatewayBench.percentile(latency, 0.99)));
    report.put("cpus", Runtime.getRuntime().availableProcessors());
    report.put("system_load_average_1m", GatewayBench.round(
        java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
    return report;
  }

}
