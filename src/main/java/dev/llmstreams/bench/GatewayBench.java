package dev.llmstreams.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.llm.Completion;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.OpenAiProvider;
import dev.llmstreams.llm.ProviderConnection;
import dev.llmstreams.llm.sim.SimulatedLlmServer;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.Folders;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.TopicSpec;
import dev.llmstreams.topics.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
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
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;

/**
 * {@code bench gateway}: the gateway against a simulated LLM of latency L at concurrency C, through
 * a real broker, compared in the same run with its ceiling C/L and with a baseline that calls the
 * provider synchronously inside a stream processor.
 */
public final class GatewayBench {
  /**
   * What to run; {@code concurrency} lists the points of the sweep, the last one is the headline.
   * {@code tracing}: the gateway with tracing off, on (spans exported to an {@link OtlpSink}), or
   * {@link TracingMode#COMPARE} (one concurrency, {@code rounds} rounds of tracing off and on).
   */
  public record Options(
      long latencyMs,
      List<Integer> concurrency,
      int requests,
      int partitions,
      int baselineRequests,
      int warmupRequests,
      String bootstrap,
      TracingMode tracing,
      int rounds) {
    public Options {
      tracing = tracing == null ? TracingMode.OFF : tracing;
      concurrency = List.copyOf(concurrency);
      if (concurrency.isEmpty()) {
        throw new IllegalArgumentException("at least one --concurrency");
      }
      if (rounds < 1) {
        throw new IllegalArgumentException("--rounds must be at least 1, was " + rounds);
      }
      if (tracing == TracingMode.COMPARE && concurrency.size() > 1) {
        throw new IllegalArgumentException(
            "--tracing compare measures one concurrency, not a sweep: give one --concurrency");
      }
    }
  }

  /** One measured run. */
  public record Run(
      int requests,
      double seconds,
      double throughputPerS,
      double p50Ms,
      double p99Ms,
      long providerCalls,
      int replies,
      int duplicateReplies,
      String idPrefix) {
    Run withProviderCalls(long calls) {
      return new Run(
          requests,
          seconds,
          throughputPerS,
          p50Ms,
          p99Ms,
          calls,
          replies,
          duplicateReplies,
          idPrefix);
    }

    boolean complete() {
      return replies == requests;
    }
  }

  private final Options options;
  private final Progress progress;

  public GatewayBench(Options options, java.io.PrintStream progressOut) {
    this.options = options;
    this.progress = new Progress(progressOut);
  }

  public ObjectNode run() throws Exception {
    String prefix = "bench-" + UUID.randomUUID().toString().substring(0, 8) + ".";
    Path state = Files.createTempDirectory("llmstreams-bench");
    TracingMode tracing = options.tracing();
    try (BenchCluster cluster = BenchCluster.start(options.bootstrap(), progress);
        // An app with tracing on starts its span exporter from the SDK's autoconfiguration, which
        // reads -Dotel.* system properties: pointed at the sink for this run, put back after.
        OtlpSink sink = tracing.exports() ? OtlpSink.start().exportHere() : null) {
      if (sink != null) {
        progress.say("OTLP receiver for the spans at %s", sink.endpoint());
      }
      ObjectNode report = JsonNodeFactory.instance.objectNode();
      report.put("benchmark", "gateway");
      report.put(
          "provider",
          "simulated OpenAI-compatible server (not an LLM), latency "
              + options.latencyMs()
              + " ms");
      report.put("latency_ms", options.latencyMs());
      report.put("partitions", options.partitions());
      report.put("warmup_requests", options.warmupRequests());
      report.put("cpus", Runtime.getRuntime().availableProcessors());
      report.put("system_load_average_1m_before", round(loadAverage()));
      // Topics are created before any app starts: a streams app started right after topics were
      // deleted and created saw none of them.
      TopicCatalog baselineCatalog = TopicCatalog.load().withPrefix(prefix + "baseline.");
      createTopics(cluster.bootstrap(), baselineCatalog, true);
      ObjectNode tracingReport = JsonNodeFactory.instance.objectNode();
      tracingReport.put("mode", tracing.label());
      ArrayNode sweep = JsonNodeFactory.instance.arrayNode();
      Run gateway = null;
      if (tracing == TracingMode.COMPARE) {
        gateway = compare(cluster, prefix, state, sink, tracingReport, sweep);
      } else {
        // Each point gets its own topics and app id, so no point inherits another's requests or
        // consumer group; all are created up front, since a streams app started right after
        // topics were deleted and created saw none of them.
        List<TopicCatalog> points = new ArrayList<>();
        for (int i = 0; i < options.concurrency().size(); i++) {
          points.add(TopicCatalog.load().withPrefix(prefix + "c" + i + "."));
          createTopics(cluster.bootstrap(), points.get(i), false);
        }
        for (int i = 0; i < points.size(); i++) {
          int concurrency = options.concurrency().get(i);
          boolean last = i == points.size() - 1;
          // The JIT warms up once, in the first point: the later ones run in the same JVM, already
          // compiled.
          try (GatewayApp app =
              new GatewayApp(
                  cluster,
                  points.get(i),
                  prefix + "c" + i + ".",
                  state.resolve("gateway-" + i),
                  concurrency,
                  tracing == TracingMode.ON)) {
            if (i == 0 && options.warmupRequests() > 0) {
              // JIT compilation of the whole path takes seconds on 2 cores: warm it up, then
              // measure.
              app.measure(cluster, options.warmupRequests(), "warm-up");
            }
            gateway = app.measure(cluster, options.requests(), "gateway C=" + concurrency);
            if (last && app.tracing) {
              // The headline point's spans: recorded, and shipped over OTLP to the sink.
              app.spans(cluster, List.of(gateway), sink).put(tracingReport);
            }
          }
          sweep.add(point(concurrency, gateway));
        }
      }
      Run baseline = runBaseline(cluster, baselineCatalog, prefix + "baseline.", state);
      int concurrency = options.concurrency().get(options.concurrency().size() - 1);
      double ceiling = ceiling(concurrency);
      report.put("headline", "the sweep's last point: concurrency " + concurrency);
      report.put("concurrency", concurrency);
      report.put("requests", gateway.requests());
      report.put("replies", gateway.replies());
      report.put("duplicate_replies", gateway.duplicateReplies());
      report.put("throughput_per_s", round(gateway.throughputPerS()));
      report.put("ceiling_per_s", round(ceiling));
      report.put("ratio", round(gateway.throughputPerS() / ceiling));
      report.put(
          "latency_note",
          "p50/p99: from produce to committed reply; all requests are sent at once, so they"
              + " include the wait for a free slot (requests / throughput at worst)");
      report.put("p50_ms", round(gateway.p50Ms()));
      report.put("p99_ms", round(gateway.p99Ms()));
      report.put("provider_calls", gateway.providerCalls());
      report.set("sweep", sweep);
      ObjectNode base = report.putObject("baseline_sync_in_processor");
      base.put("requests", baseline.requests());
      base.put("throughput_per_s", round(baseline.throughputPerS()));
      base.put("p50_ms", round(baseline.p50Ms()));
      base.put("provider_calls", baseline.providerCalls());
      report.put(
          "speedup_over_baseline", round(gateway.throughputPerS() / baseline.throughputPerS()));
      report.put("system_load_average_1m", round(loadAverage()));
      if (tracingReport.has("tracing_overhead_ratio")) {
        report.set("tracing_overhead_ratio", tracingReport.get("tracing_overhead_ratio"));
      }
      report.set("tracing", tracingReport);
      ObjectNode d = report.putObject("definitions");
      d.put(
          "tracing",
          tracing == TracingMode.COMPARE
              ? TracingOverhead.definition("requests_per_s")
                  + ". The top-level figures and the sweep's point are those of round 1 with tracing off"
              : "the gateway ran with tracing.enabled="
                  + (tracing == TracingMode.ON)
                  + (tracing == TracingMode.ON
                      ? ": a chat span per call written to the spans topic and shipped over OTLP/HTTP"
                          + " to a local receiver"
                      : ": no spans (every record still carries a traceparent header)"));
      if (tracing.exports()) {
        d.put(
            "spans",
            "spans_on_topic: records on the spans topic of the app with tracing on (read_committed,"
                + " warm-up included); spans_of_measured_work: those whose llmstreams.llm.request.id is a request"
                + " of its measured runs; ..._expected: one chat span per reply; spans_exported: the app's"
                + " llmstreams.tracing.spans.exported once it caught up with the topic (or after 60 s);"
                + " otlp_*: what the local OTLP/HTTP receiver accepted");
      }
      return report;
    } finally {
      Folders.deleteQuietly(state);
    }
  }

  private double ceiling(int concurrency) {
    return concurrency * 1000.0 / options.latencyMs();
  }

  /** Throughput and its ceiling C/L against concurrency, drawn from a report's sweep. */
  public static SvgChart chart(JsonNode report) {
    List<SvgChart.Point> measured = new ArrayList<>();
    List<SvgChart.Point> ceiling = new ArrayList<>();
    for (JsonNode p : report.path("sweep")) {
      int c = p.path("concurrency").asInt();
      measured.add(
          new SvgChart.Point(
              c,
              p.path("throughput_per_s").asDouble(),
              String.format(java.util.Locale.ROOT, "%.2f of ceiling", p.path("ratio").asDouble())));
      ceiling.add(new SvgChart.Point(c, p.path("ceiling_per_s").asDouble()));
    }
    return new SvgChart(
            String.format(
                java.util.Locale.ROOT,
                "Gateway throughput against concurrency (LLM latency %d ms)",
                report.path("latency_ms").asLong()),
            new SvgChart.Axis("concurrency C (LLM calls in flight)", SvgChart.Scale.LINEAR),
            new SvgChart.Axis("throughput (calls/s)", SvgChart.Scale.LINEAR))
        .add(
            new SvgChart.Series(
                String.format(
                    java.util.Locale.ROOT,
                    "gateway, measured (%d partition(s), exactly-once, real broker)",
                    report.path("partitions").asInt()),
                measured,
                false,
                true))
        .add(new SvgChart.Series("ceiling C / L", ceiling, true, false));
  }

  static double loadAverage() {
    return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  /**
   * The catalog's topics, llm-requests with the partitions asked for, or with {@code baseline} the
   * baseline's input.
   */
  private void createTopics(String bootstrap, TopicCatalog catalog, boolean baseline)
      throws Exception {
    List<TopicSpec> specs = new ArrayList<>();
    for (TopicSpec s : catalog.all()) {
      if (s.role() != TopicRole.LLM_REQUESTS) {
        specs.add(s);
      } else if (baseline) {
        specs.add(s.withName(baselineTopic(s.name())).withPartitions(1));
      } else {
        specs.add(s.withPartitions(options.partitions()));
      }
    }
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      new TopicAdmin(admin, (short) -1).apply(specs, false);
    }
  }

  private static String baselineTopic(String requests) {
    return requests + ".baseline";
  }

  private ObjectNode point(int concurrency, Run gateway) {
    double ceiling = ceiling(concurrency);
    return JsonNodeFactory.instance
        .objectNode()
        .put("concurrency", concurrency)
        .put("throughput_per_s", round(gateway.throughputPerS()))
        .put("ceiling_per_s", round(ceiling))
        .put("ratio", round(gateway.throughputPerS() / ceiling))
        .put("p50_ms", round(gateway.p50Ms()))
        .put("p99_ms", round(gateway.p99Ms()))
        .put("replies", gateway.replies())
        .put("duplicate_replies", gateway.duplicateReplies())
        .put("provider_calls", gateway.providerCalls())
        .put("system_load_average_1m", round(loadAverage()));
  }

  /**
   * {@code --tracing compare}: two gateway apps at the one concurrency, tracing off and on, each on
   * its own topics and simulator and warmed up, then {@code rounds} rounds of the same requests on
   * each, off then on, then the other way round. Returns round 1's run with tracing off (the
   * report's top-level figures).
   */
  private Run compare(
      BenchCluster cluster,
      String prefix,
      Path state,
      OtlpSink sink,
      ObjectNode tracingReport,
      ArrayNode sweep)
      throws Exception {
    int concurrency = options.concurrency().get(0);
    Map<Boolean, GatewayApp> apps = new java.util.LinkedHashMap<>();
    try {
      // All topics first, then the apps (as the sweep does).
      Map<Boolean, TopicCatalog> catalogs = new java.util.LinkedHashMap<>();
      for (boolean on : TracingMode.COMPARE.variants()) {
        TopicCatalog catalog =
            TopicCatalog.load().withPrefix(prefix + "tracing-" + TracingMode.label(on) + ".");
        createTopics(cluster.bootstrap(), catalog, false);
        catalogs.put(on, catalog);
      }
      for (boolean on : TracingMode.COMPARE.variants()) {
        String appPrefix = prefix + "tracing-" + TracingMode.label(on) + ".";
        TopicCatalog catalog = catalogs.get(on);
        apps.put(
            on,
            new GatewayApp(
                cluster,
                catalog,
                appPrefix,
                state.resolve("tracing-" + TracingMode.label(on)),
                concurrency,
                on));
      }
      if (options.warmupRequests() > 0) {
        for (GatewayApp app : apps.values()) {
          app.measure(
              cluster,
              options.warmupRequests(),
              "warm-up tracing " + TracingMode.label(app.tracing));
        }
      }
      List<TracingOverhead.Round> rounds = new ArrayList<>();
      List<Run> measuredOn = new ArrayList<>();
      ArrayNode runs = JsonNodeFactory.instance.arrayNode();
      Run first = null;
      for (int round = 0; round < options.rounds(); round++) {
        Map<Boolean, Run> thisRound = new java.util.HashMap<>();
        for (boolean on : TracingOverhead.order(round)) {
          Run run =
              apps.get(on)
                  .measure(
                      cluster,
                      options.requests(),
                      "tracing "
                          + TracingMode.label(on)
                          + " C="
                          + concurrency
                          + (options.rounds() > 1 ? " (round " + (round + 1) + ")" : ""));
          thisRound.put(on, run);
          if (on) {
            measuredOn.add(run);
          } else if (first == null) {
            first = run;
          }
          runs.addObject()
              .put("round", round + 1)
              .put("tracing", TracingMode.label(on))
              .put("requests_per_s", round(run.throughputPerS()))
              .put("complete", run.complete())
              .put("p50_ms", round(run.p50Ms()))
              .put("p99_ms", round(run.p99Ms()))
              .put("replies", run.replies())
              .put("duplicate_replies", run.duplicateReplies())
              .put("provider_calls", run.providerCalls())
              .put("system_load_average_1m", round(loadAverage()));
        }
        rounds.add(
            new TracingOverhead.Round(
                rate(thisRound.get(false)),
                rate(thisRound.get(true)),
                TracingOverhead.order(round)));
      }
      ObjectNode comparison = TracingOverhead.report(rounds, "requests_per_s");
      tracingReport.put("concurrency", concurrency);
      tracingReport.setAll(comparison);
      tracingReport.set("runs", runs);
      progress.say(
          "tracing on / off requests/s over %d interleaved round(s): median %s (off %s, on %s"
              + " requests/s), rounds %s",
          rounds.size(),
          comparison.path("tracing_overhead_ratio").asText("none (a run is incomplete)"),
          comparison.path("off_requests_per_s").asText("-"),
          comparison.path("on_requests_per_s").asText("-"),
          rounds.stream().map(r -> r.ratio() == null ? "-" : round(r.ratio()) + "").toList());
      apps.get(true).spans(cluster, measuredOn, sink).put(tracingReport);
      sweep.add(point(concurrency, first));
      return first;
    } finally {
      List<GatewayApp> started = new ArrayList<>(apps.values());
      Collections.reverse(started);
      for (GatewayApp app : started) {
        app.close();
      }
    }
  }

  /** Requests per second of a run where every request had its reply; null otherwise. */
  private static Double rate(Run run) {
    return run == null || !run.complete() ? null : run.throughputPerS();
  }

  /**
   * One gateway app under bench, with its own simulator (latency L), topics, meters and tracing
   * setting.
   */
  private final class GatewayApp implements AutoCloseable {
    final boolean tracing;
    final TopicCatalog catalog;
    final String requests;
    final String replies;
    private final SimulatedLlmServer sim;
    private Observability observability;
    private LlmStreamsApp app;

    GatewayApp(
        BenchCluster cluster,
        TopicCatalog catalog,
        String prefix,
        Path state,
        int concurrency,
        boolean tracing)
        throws Exception {
      this.tracing = tracing;
      this.catalog = catalog;
      this.requests = catalog.spec(TopicRole.LLM_REQUESTS).name();
      this.replies = catalog.spec(TopicRole.SUMMARIZER_LLM_REPLIES).name();
      this.sim =
          new SimulatedLlmServer(
                  SimulatedLlmServer.Settings.defaults()
                      .withLatency(Duration.ofMillis(options.latencyMs())))
              .start();
      try {
        Map<String, String> settings = cluster.appSettings(prefix, state.resolve("gateway"), sim);
        settings.put(AppConfig.provider("openai", "concurrency"), Integer.toString(concurrency));
        // One workload: every slot serves it, none is kept back for interactive calls.
        settings.put(AppConfig.provider("openai", "interactive.reserved"), "0");
        settings.put(AppConfig.TRACING_ENABLED, Boolean.toString(tracing));
        AppConfig config = AppConfig.load(null, Map.of(), settings);
        observability = new Observability();
        app = new LlmStreamsApp(config, catalog, observability);
        app.start(List.of(new GatewayModule()));
        progress.say(
            "gateway starting, tracing %s (concurrency %d, %d partition(s))",
            TracingMode.label(tracing), concurrency, options.partitions());
        BenchCluster.awaitReady(app);
      } catch (Exception | Error e) {
        close();
        throw e;
      }
    }

    /** n requests through this gateway; the run's provider calls are this simulator's. */
    Run measure(BenchCluster cluster, int n, String label) throws Exception {
      long callsBefore = sim.stats().calls();
      Run run = drive(cluster, requests, replies, n, label);
      return run.withProviderCalls(sim.stats().calls() - callsBefore);
    }

    /** The proof that the spans of these runs were recorded and shipped to the sink. */
    TracingOverhead.Spans spans(BenchCluster cluster, List<Run> measured, OtlpSink sink)
        throws InterruptedException {
      List<String> prefixes = measured.stream().map(Run::idPrefix).toList();
      return TracingOverhead.spans(
          cluster,
          catalog.topic(Topics.SPANS).name(),
          span -> {
            Object id = span.attributes().get("llmstreams.llm.request.id");
            return id != null && prefixes.stream().anyMatch(p -> id.toString().startsWith(p));
          },
          measured.stream().mapToLong(Run::replies).sum(),
          observability.registry(),
          sink,
          progress);
    }

    @Override
    public void close() {
      try {
        if (app != null) {
          app.close();
        }
      } finally {
        try {
          if (observability != null) {
            observability.close();
          }
        } finally {
          sim.close();
        }
      }
    }
  }

  /**
   * The baseline: one stream processor that calls the provider and waits for the answer before the
   * next record.
   */
  private Run runBaseline(BenchCluster cluster, TopicCatalog catalog, String prefix, Path state)
      throws Exception {
    try (SimulatedLlmServer sim =
            new SimulatedLlmServer(
                    SimulatedLlmServer.Settings.defaults()
                        .withLatency(Duration.ofMillis(options.latencyMs())))
                .start();
        OpenAiProvider provider =
            new OpenAiProvider(
                new ProviderConnection(sim.baseUrl(), null, Duration.ofSeconds(30), "simulated"))) {
      var requestsTopic = catalog.topic(Topics.LLM_REQUESTS);
      var repliesTopic = catalog.topic(Topics.SUMMARIZER_LLM_REPLIES);
      String in = baselineTopic(requestsTopic.name());
      StreamsBuilder builder = new StreamsBuilder();
      builder.stream(
              in,
              Consumed.with(requestsTopic.keySerde(), requestsTopic.valueSerde())
                  .withName("baseline.requests"))
          .mapValues(
              request -> {
                long start = System.nanoTime();
                Completion c = provider.complete(request, "simulated").join();
                return new LlmReply(
                    request.requestId(),
                    request.correlationId(),
                    request.purpose(),
                    c.content(),
                    c.toolCalls(),
                    c.finishReason(),
                    c.usage(),
                    0.0,
                    (System.nanoTime() - start) / 1_000_000,
                    "openai",
                    c.model(),
                    false,
                    null);
              },
              Named.as("baseline.call-provider-synchronously"))
          .to(
              repliesTopic.name(),
              Produced.with(repliesTopic.keySerde(), repliesTopic.valueSerde())
                  .withName("baseline.replies"));
      Properties props = new Properties();
      props.put(StreamsConfig.APPLICATION_ID_CONFIG, prefix + "baseline");
      props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
      props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
      props.put(StreamsConfig.STATE_DIR_CONFIG, state.resolve("baseline").toString());
      props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
      try (KafkaStreams streams = new KafkaStreams(builder.build(), props)) {
        streams.start();
        progress.say("baseline starting (synchronous call inside the processor)");
        awaitRunning(List.of(streams));
        Run run = drive(cluster, in, repliesTopic.name(), options.baselineRequests(), "baseline");
        return new Run(
            run.requests(),
            run.seconds(),
            run.throughputPerS(),
            run.p50Ms(),
            run.p99Ms(),
            sim.stats().calls(),
            run.replies(),
            run.duplicateReplies(),
            run.idPrefix());
      }
    }
  }

  private void awaitRunning(Iterable<KafkaStreams> streams) throws InterruptedException {
    Instant until = Instant.now().plusSeconds(120);
    for (KafkaStreams ks : streams) {
      while (ks.state() != KafkaStreams.State.RUNNING) {
        if (Instant.now().isAfter(until)) {
          throw new IllegalStateException("streams not RUNNING after 120 s: " + ks.state());
        }
        Thread.sleep(50);
      }
    }
  }

  /**
   * Produces n requests as fast as the producer allows and waits until n distinct replies are
   * committed.
   */
  private Run drive(
      BenchCluster cluster, String requestsTopic, String repliesTopic, int n, String label)
      throws Exception {
    Map<String, Long> sentAt = new HashMap<>();
    List<Double> latencies = new ArrayList<>();
    Set<String> answered = new HashSet<>();
    int duplicates = 0;
    JsonSerde<LlmRequest> requestSerde = JsonSerde.of(LlmRequest.class);
    JsonSerde<LlmReply> replySerde = JsonSerde.of(LlmReply.class);
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    try (KafkaConsumer<String, String> consumer = cluster.committedReader(repliesTopic, false);
        KafkaProducer<String, String> producer =
            new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
      String run = UUID.randomUUID().toString().substring(0, 6);
      long start = System.nanoTime();
      for (int i = 0; i < n; i++) {
        String id = label + "-" + run + "-" + i;
        LlmRequest request =
            new LlmRequest(
                id,
                repliesTopic,
                "summarizer.chunk",
                "k" + (i % 64),
                null,
                null,
                List.of(ChatMessage.user("Summarize request " + i + " of the benchmark.")),
                List.of(),
                null,
                32,
                0.0,
                null,
                Map.of());
        sentAt.put(id, System.nanoTime());
        producer.send(
            new ProducerRecord<>(
                requestsTopic,
                request.correlationId(),
                new String(
                    requestSerde.serializer().serialize(requestsTopic, request),
                    java.nio.charset.StandardCharsets.UTF_8)));
      }
      producer.flush();
      long lastReport = System.nanoTime();
      Instant giveUp =
          Instant.now().plus(Duration.ofSeconds(60L + 5L * n * options.latencyMs() / 1000L));
      while (answered.size() < n && Instant.now().isBefore(giveUp)) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
          LlmReply reply =
              replySerde
                  .deserializer()
                  .deserialize(
                      repliesTopic, r.value().getBytes(java.nio.charset.StandardCharsets.UTF_8));
          Long sent = sentAt.get(reply.requestId());
          if (sent == null) {
            continue;
          }
          if (answered.add(reply.requestId())) {
            latencies.add((System.nanoTime() - sent) / 1e6);
          } else {
            duplicates++;
          }
        }
        if (System.nanoTime() - lastReport > 2_000_000_000L) {
          progress.say("%s: %d/%d replies", label, answered.size(), n);
          lastReport = System.nanoTime();
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      Collections.sort(latencies);
      progress.say("%s: %d/%d replies in %.2f s", label, answered.size(), n, seconds);
      return new Run(
          n,
          seconds,
          answered.size() / seconds,
          percentile(latencies, 0.50),
          percentile(latencies, 0.99),
          0,
          answered.size(),
          duplicates,
          label + "-" + run + "-");
    }
  }

  static double percentile(List<Double> sorted, double q) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    int i = (int) Math.ceil(q * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
  }

  static double round(double v) {
    return Math.round(v * 1000.0) / 1000.0;
  }
}
