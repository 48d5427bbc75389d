package dev.llmstreams.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.sim.SimulatedLlmServer;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.Folders;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.TopicSpec;
import dev.llmstreams.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * {@code bench controller}: goals through the controller, the gateway and the tools pattern over a
 * real broker, against the simulated LLM set to ask for {@code steps - 1} calculator calls before
 * its final answer. Throughput is compared with the ceiling of the LLM's concurrency C and latency
 * L (C/L calls per second, so C/(L*steps) goals per second), and what the loop adds per step is
 * measured from the goals' own events (see {@link StepOverhead}).
 */
public final class ControllerBench {
  /**
   * Tools the bench's goals may use: the calculator, which the simulator calls with arithmetic it
   * can evaluate.
   */
  static final String TOOL = "calculator";

  /** Settings the bench gives each app itself, which {@code --compare} may not change. */
  static final Set<String> BENCH_OWNED =
      Set.of(
          AppConfig.KAFKA_BOOTSTRAP,
          AppConfig.TOPICS_PREFIX,
          AppConfig.APPLICATION_ID,
          AppConfig.STATE_DIR,
          AppConfig.HTTP_PORT);

  /** What the report's {@code profile} holds, for its definitions. */
  static final String PROFILE_DEFINITION =
      "with --profile, per measured phase of the first round (each in-flight level, then one at a time):"
          + " wall_ms, the phase from its first goal sent to its last result; *_cpu_ms_per_goal, CPU time (user"
          + " and system) during the phase / goals finished in it; *_cores_busy, that CPU time / wall_ms."
          + " process: this JVM (ProcessCpuTime); broker: the local broker's process (utime + stime of"
          + " /proc/<pid>/stat), null for an external cluster. components: this JVM's threads"
          + " (ThreadMXBean thread CPU time) grouped by name: <pattern>_stream_threads"
          + " (<application.id>-<pattern>-...-StreamThread-N: processing, state stores, serialization),"
          + " <pattern>_producers (kafka-producer-network-thread of the pattern's transactional producers:"
          + " sends and transaction requests), <pattern>_other_kafka_threads (consumer heartbeat, admin, state"
          + " updater), gateway_http_client (the JDK HTTP client's threads calling the LLM, and the gateway's"
          + " timer), simulated_llm (the simulator's threads and the JDK HTTP server's dispatcher: not the"
          + " product, subtract it), bench_driver (the bench's main thread producing goals and reading"
          + " results), other_kafka_clients (kafka-* threads of no pattern: the bench's goal producer),"
          + " profiler_jfr (the JFR recorder itself), other_app_of_comparison (the idle app of a comparison),"
          + " other_threads (busiest_ms_per_goal names them), then the JVM's own threads, which ThreadMXBean"
          + " does not list, from /proc/self/task (in clock ticks, 10 ms): jvm_jit_compiler (C1 and C2"
          + " compiler threads), jvm_gc (GC threads), jvm_vm_thread (safepoint operations), and jvm_other ="
          + " process - all of the above: threads that ended during the phase (such as compiler threads the"
          + " JVM stops when idle) and rounding. categories: JFR execution samples (every "
          + CpuProfile.SAMPLE_PERIOD.toMillis()
          + " ms per running Java thread) on the measured app's stream and producer threads, each placed by"
          + " the first non-JDK frame from the leaf that belongs to a category (Jackson: serialization;"
          + " org.rocksdb, org.apache.kafka.streams.state: state stores; Kafka's producer, record and"
          + " compression classes: producer; Kafka's consumer: consumer; the rest of Kafka Streams: runtime;"
          + " Micrometer: meters; OpenTelemetry: tracing; dev.llmstreams: logic; none: other); share of"
          + " samples, and cpu_ms_per_goal estimated as each component's CPU split by its samples' shares."
          + " Samples see Java code only: time in native code (RocksDB's JNI, socket writes) is in the"
          + " components' CPU but not in the categories' shares";

  /**
   * What to run.
   *
   * @param partitions of the controller's co-partitioned topics, both request topics and
   *     tool-calls; 0: the catalog's
   * @param inFlight goals running at once in the throughput phase (a new one is sent when one
   *     finishes), one throughput phase per level in turn; 0: all at once. The first level's
   *     figures are the report's top-level ones, and only it is measured again in later rounds
   * @param latencyGoals goals of the latency phase, run one at a time after the throughput phase:
   *     the step overhead without queueing behind other goals; 0: none (step overhead then comes
   *     from the throughput phase)
   * @param commitIntervalMs the app's commit.interval.ms; null: the app's default
   * @param clientSettings more settings of the app's Kafka clients (its {@code kafka.client.*}
   *     keys, without it)
   * @param partitioners how the goals are spread over partitions, each measured in turn on the same
   *     broker and app (throughput phase, then latency phase); the first one's figures are the
   *     report's top-level ones
   * @param rounds throughput phases per partitioner (or per tracing setting), interleaved
   * @param tracing the apps with tracing off, on (spans exported to an {@link OtlpSink}), or both
   *     in the same run ({@link TracingMode#COMPARE}: two apps, the same phases on each in rounds;
   *     the figures with tracing off are the report's top-level ones)
   * @param compare app settings of a second app, the "variant", measured against a "baseline" app
   *     with the defaults in the same run, the same phases on each in interleaved rounds (like
   *     {@link TracingMode#COMPARE}: the baseline's figures are the report's top-level ones);
   *     empty: no comparison
   * @param profile whether the measured phases of the first round are profiled ({@link
   *     CpuProfile}): CPU per goal by component and by code
   * @param profileFile where each profiled phase's JFR recording is kept (the phase's name is added
   *     to the file name), or null to keep none
   * @param besideTransactionsMs 0, or how long each transaction of a producer beside the app stays
   *     open on every partition of {@code llm-requests} ({@link BulkTransactions}), as a busy
   *     summarizer or specialist keeps them
   */
  public record Options(
      int goals,
      int steps,
      long latencyMs,
      int concurrency,
      int partitions,
      List<Integer> inFlight,
      int warmupGoals,
      int warmupMaxGoals,
      int latencyGoals,
      Long commitIntervalMs,
      Map<String, String> clientSettings,
      String bootstrap,
      List<InputPartitioner> partitioners,
      int rounds,
      TracingMode tracing,
      Map<String, String> compare,
      boolean profile,
      Path profileFile,
      long besideTransactionsMs) {
    public Options {
      if (besideTransactionsMs < 0) {
        throw new IllegalArgumentException(
            "--beside-transactions-ms must be 0 (none) or more, was " + besideTransactionsMs);
      }
      compare = compare == null ? Map.of() : Map.copyOf(compare);
      if (!compare.isEmpty() && tracing == TracingMode.COMPARE) {
        throw new IllegalArgumentException(
            "--compare and --tracing compare are two comparisons: run one at a time");
      }
      if (!compare.isEmpty() && partitioners.size() > 1) {
        throw new IllegalArgumentException(
            "--compare measures one partitioner: give --partitioner java or librdkafka");
      }
      for (String key : compare.keySet()) {
        if (BENCH_OWNED.contains(key)) {
          throw new IllegalArgumentException(
              "--compare cannot set " + key + ": the bench gives each app its own");
        }
      }
      if (inFlight == null || inFlight.isEmpty()) {
        throw new IllegalArgumentException("--in-flight needs at least one level");
      }
      if (inFlight.stream().anyMatch(n -> n < 0)) {
        throw new IllegalArgumentException(
            "--in-flight levels must be 0 or more, were " + inFlight);
      }
      inFlight = List.copyOf(inFlight);
      warmupMaxGoals = Math.max(warmupGoals, warmupMaxGoals);
      profile = profile || profileFile != null;
      tracing = tracing == null ? TracingMode.OFF : tracing;
      if (tracing == TracingMode.COMPARE && partitioners.size() > 1) {
        throw new IllegalArgumentException(
            "--tracing compare measures one partitioner: give --partitioner java or librdkafka");
      }
      if (rounds < 1) {
        throw new IllegalArgumentException("--rounds must be at least 1, was " + rounds);
      }
      if (steps < 1) {
        throw new IllegalArgumentException("--steps must be at least 1, was " + steps);
      }
      if (goals < 1) {
        throw new IllegalArgumentException("--goals must be at least 1, was " + goals);
      }
      if (partitioners.isEmpty()) {
        throw new IllegalArgumentException("at least one partitioner to measure");
      }
      partitioners = List.copyOf(partitioners);
    }
  }

  /**
   * The goals of one phase as the bench saw them; {@code complete} when every goal sent had its
   * result (else the phase ended when none finished for the stall timeout).
   */
  private record Driven(
      Map<String, Long> sentAtMs,
      Map<String, Long> resultAtMs,
      Map<String, GoalResult> results,
      long firstSentMs,
      long lastResultMs,
      int duplicateResults,
      int goals,
      int onMurmur2Partition) {
    boolean complete() {
      return resultAtMs.size() == goals;
    }
  }

  /**
   * One variant's measurement: a throughput phase per in-flight level, its latency phase (or null)
   * and that phase's profile (or null).
   */
  private record Phase(
      Variant variant, List<Level> levels, Driven alone, CpuProfile.Result aloneProfile) {
    Level first() {
      return levels.get(0);
    }
  }

  /**
   * One throughput phase: goals at most {@code inFlight} at once, the LLM calls during it, its
   * profile (or null).
   */
  private record Level(int inFlight, Driven run, long llmCalls, CpuProfile.Result profile) {}

  private final Options options;
  private final Progress progress;

  /** Each app's warm-up, by its label. */
  private final Map<String, Warmup> warmups = new java.util.LinkedHashMap<>();

  /**
   * The JIT has settled when, over the last warm-up chunk, the compiler threads of the app and the
   * broker used less than this share of the machine's CPU.
   */
  static final double JIT_SETTLED = 0.05;

  /** Goals per warm-up chunk after the first {@code --warmup-goals}. */
  static final int WARMUP_CHUNK = 500;

  /**
   * What one app's warm-up took: goals, and the share of the machine's CPU the JIT (app and broker)
   * used over the last chunk.
   */
  record Warmup(int goals, double jitShare, boolean settled) {}

  /**
   * Runs {@code --warmup-goals}, then chunks of {@link #WARMUP_CHUNK} while the JIT compiled with
   * at least {@link #JIT_SETTLED} of the machine's CPU over the last one, up to {@code
   * --warmup-max-goals}: what is measured next is the steady state a long-running app is in, not
   * the compiler at work (after the first 1,000 goals it still took a third of both cores here).
   */
  private Warmup warmUp(BenchCluster cluster, Target t, String label) throws Exception {
    int done = 0;
    int chunk = options.warmupGoals();
    int cpus = Runtime.getRuntime().availableProcessors();
    while (true) {
      long jitBefore = jitCpuMs(cluster);
      long start = System.nanoTime();
      drive(
          cluster,
          t.catalog(),
          chunk,
          label,
          Math.min(64, options.concurrency()),
          InputPartitioner.JAVA);
      done += chunk;
      double wallMs = Math.max(1, (System.nanoTime() - start) / 1e6);
      double share = (jitCpuMs(cluster) - jitBefore) / (wallMs * cpus);
      boolean settled = share < JIT_SETTLED;
      progress.say(
          "%s: the JIT (app and broker) used %.0f%% of the %d cores over the last %d goals%s",
          label,
          share * 100,
          cpus,
          chunk,
          settled
              ? ": settled"
              : done >= options.warmupMaxGoals()
                  ? "; --warmup-max-goals " + options.warmupMaxGoals() + " reached, measuring"
                  : "; warming up further");
      if (settled || done >= options.warmupMaxGoals()) {
        return new Warmup(done, share, settled);
      }
      chunk = Math.min(WARMUP_CHUNK, options.warmupMaxGoals() - done);
    }
  }

  /** CPU time so far of the JIT compiler threads of this JVM and of the broker's (when local). */
  private static long jitCpuMs(BenchCluster cluster) {
    return CpuProfile.jitCpuMs("self")
        + (cluster.brokerPid().isPresent()
            ? CpuProfile.jitCpuMs(Long.toString(cluster.brokerPid().getAsLong()))
            : 0);
  }

  public ControllerBench(Options options, java.io.PrintStream progressOut) {
    this.options = options;
    this.progress = new Progress(progressOut);
  }

  public ObjectNode run() throws Exception {
    String prefix = "bench-" + UUID.randomUUID().toString().substring(0, 8) + ".";
    Path state = Files.createTempDirectory("llmstreams-bench");
    TracingMode tracing = options.tracing();
    try (BenchCluster cluster = BenchCluster.start(options.bootstrap(), progress);
        SimulatedLlmServer sim =
            new SimulatedLlmServer(
                    SimulatedLlmServer.Settings.defaults()
                        .withLatency(Duration.ofMillis(options.latencyMs()))
                        .withToolSteps(options.steps() - 1))
                .start();
        // The app with tracing on starts its span exporter from the SDK's autoconfiguration, which
        // reads -Dotel.* system properties: pointed at the sink for this run, put back after. The
        // app with tracing off has tracing.enabled=false, so they do not turn it on.
        OtlpSink sink = tracing.exports() ? OtlpSink.start().exportHere() : null;
        Targets targets = new Targets()) {
      if (sink != null) {
        progress.say("OTLP receiver for the spans at %s", sink.endpoint());
      }
      for (AppSpec spec : appSpecs()) {
        String appPrefix = spec.compared() ? prefix + spec.dir() + "." : prefix;
        TopicCatalog catalog = TopicCatalog.load().withPrefix(appPrefix);
        createTopics(cluster.bootstrap(), catalog);
        Map<String, String> settings = settings(cluster, appPrefix, state.resolve(spec.dir()), sim);
        settings.put(AppConfig.TRACING_ENABLED, Boolean.toString(spec.tracing()));
        settings.putAll(spec.settings());
        AppConfig config = AppConfig.load(null, Map.of(), settings);
        Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(config, catalog, observability);
        targets.add(new Target(spec, catalog, config, observability, app));
        if (options.besideTransactionsMs() > 0) {
          String bulkTopic = catalog.spec(TopicRole.LLM_REQUESTS).name();
          targets.beside(
              BulkTransactions.start(
                  cluster.bootstrap(),
                  bulkTopic,
                  Duration.ofMillis(options.besideTransactionsMs())));
          progress.say(
              "beside the app: transactions held open %d ms on every partition of %s",
              options.besideTransactionsMs(), bulkTopic);
        }
        app.start(modules());
        progress.say(
            "gateway, controller and tools starting%s, tracing %s (concurrency %d, LLM latency %d"
                + " ms, %d steps)",
            options.compare().isEmpty() ? "" : " (" + spec.name() + ": " + spec.settings() + ")",
            TracingMode.label(spec.tracing()),
            options.concurrency(),
            options.latencyMs(),
            options.steps());
      }
      for (Target t : targets.all()) {
        BenchCluster.awaitReady(t.app());
      }
      if (options.profile()) {
        CpuProfile.prime(); // JFR's first start costs compiled code: before the warm-up, not in it
      }
      if (options.warmupGoals() > 0) {
        // The JIT keeps two cores busy for a minute or more (broker and app): warm the path up
        // until it has settled, then measure. Each app of a comparison warms up, so the tracing
        // code is compiled too.
        for (Target t : targets.all()) {
          warmups.put(
              t.label(),
              warmUp(cluster, t, comparing() ? "warm-up " + t.description() : "warm-up"));
        }
      }
      // What is compared in rounds: the partitioners on one app, or one partitioner on the app
      // with tracing off and the one with tracing on, or on the baseline and the variant.
      List<Variant> variants = new ArrayList<>();
      if (comparing()) {
        for (Target t : targets.all()) {
          variants.add(new Variant(t.label(), t.description(), t, options.partitioners().get(0)));
        }
      } else {
        for (InputPartitioner p : options.partitioners()) {
          variants.add(new Variant(p.label(), p.label(), targets.all().get(0), p));
        }
      }
      List<Phase> phases = new ArrayList<>();
      List<Map<Variant, Driven>> rounds = new ArrayList<>();
      for (int round = 0; round < options.rounds(); round++) {
        // Interleaved, the order turned each round: the machine's speed drifts within a run, and
        // each variant should meet the same drift.
        List<Variant> order = new ArrayList<>(variants);
        if (round % 2 == 1) {
          java.util.Collections.reverse(order);
        }
        Map<Variant, Driven> thisRound = new java.util.LinkedHashMap<>();
        for (Variant v : order) {
          // Every in-flight level in the first round; later rounds repeat the first level only,
          // for the comparison's ratio.
          List<Integer> levels = round == 0 ? options.inFlight() : options.inFlight().subList(0, 1);
          List<Level> measured = new ArrayList<>();
          for (int inFlight : levels) {
            long callsBefore = sim.stats().calls();
            String label =
                v.label()
                    + " goals"
                    + (options.inFlight().size() > 1 ? ", " + inFlight + " in flight" : "")
                    + (options.rounds() > 1 ? " (round " + (round + 1) + ")" : "");
            CpuProfile profile =
                round == 0 ? startProfile(cluster, targets, v, "in-flight-" + inFlight) : null;
            Driven run =
                drive(
                    cluster,
                    v.target().catalog(),
                    options.goals(),
                    label,
                    inFlight,
                    v.partitioner());
            long llmCalls = sim.stats().calls() - callsBefore;
            measured.add(
                new Level(
                    inFlight,
                    run,
                    llmCalls,
                    profile == null ? null : profile.stop(run.resultAtMs().size())));
          }
          thisRound.put(v, measured.get(0).run());
          if (round == 0) {
            Driven alone = null;
            CpuProfile.Result aloneProfile = null;
            if (options.latencyGoals() > 0) {
              CpuProfile profile = startProfile(cluster, targets, v, "one-at-a-time");
              alone =
                  drive(
                      cluster,
                      v.target().catalog(),
                      options.latencyGoals(),
                      v.label() + " one at a time",
                      1,
                      v.partitioner());
              aloneProfile = profile == null ? null : profile.stop(alone.resultAtMs().size());
            }
            phases.add(new Phase(v, measured, alone, aloneProfile));
          }
        }
        rounds.add(thisRound);
      }
      ObjectNode report = report(cluster, targets.all().get(0).config(), phases);
      reportRounds(report, rounds);
      reportTracing(report, cluster, targets, rounds, sink);
      reportCompare(report, rounds);
      printProfiles(phases);
      return report;
    } finally {
      Folders.deleteQuietly(state);
    }
  }

  /** The patterns under bench: gateway, controller and tools. */
  private static List<dev.llmstreams.runtime.PatternModule> modules() {
    return List.of(new GatewayModule(), new ControllerModule(), new ToolsModule());
  }

  /**
   * Starts profiling a phase of the variant's app when {@code --profile} asks for it, else null:
   * threads of its patterns are placed by their application ids, those of another app of the run
   * apart.
   */
  private CpuProfile startProfile(BenchCluster cluster, Targets targets, Variant v, String phase)
      throws Exception {
    if (!options.profile()) {
      return null;
    }
    Map<String, String> patterns = new java.util.LinkedHashMap<>();
    for (dev.llmstreams.runtime.PatternModule m : modules()) {
      patterns.put(
          dev.llmstreams.runtime.StreamsSettings.applicationId(v.target().config(), m.name()),
          m.name());
    }
    List<String> others =
        targets.all().stream()
            .filter(t -> t != v.target())
            .map(t -> t.config().getString(AppConfig.APPLICATION_ID) + "-")
            .toList();
    Path jfr = null;
    if (options.profileFile() != null) {
      String name = options.profileFile().getFileName().toString();
      int dot = name.lastIndexOf('.');
      String stem = dot > 0 ? name.substring(0, dot) : name;
      String ext = dot > 0 ? name.substring(dot) : ".jfr";
      jfr = options.profileFile().resolveSibling(stem + "-" + v.key() + "-" + phase + ext);
    }
    return CpuProfile.start(new CpuProfile.Components(patterns, others), cluster.brokerPid(), jfr);
  }

  /** The profiled phases' tables, on the progress output. */
  private void printProfiles(List<Phase> phases) {
    for (Phase p : phases) {
      for (Level l : p.levels()) {
        if (l.profile() != null) {
          l.profile()
              .table(p.variant().label() + ", " + inFlightLabel(l.inFlight()))
              .forEach(line -> progress.say("%s", line));
        }
      }
      if (p.aloneProfile() != null) {
        p.aloneProfile()
            .table(p.variant().label() + ", one at a time")
            .forEach(line -> progress.say("%s", line));
      }
    }
  }

  private static String inFlightLabel(int inFlight) {
    return inFlight <= 0 ? "all goals at once" : inFlight + " in flight";
  }

  /**
   * An app to start: its name in the report (off, on; baseline, variant), its folder under the
   * run's state and, when it is one of two compared, its part of the topics prefix, how progress
   * lines name it, tracing on or off, and the settings it adds to the bench's.
   */
  private record AppSpec(
      String name,
      String dir,
      String description,
      boolean tracing,
      Map<String, String> settings,
      boolean compared) {
    static AppSpec tracing(boolean on, boolean compared) {
      String label = TracingMode.label(on);
      return new AppSpec(label, "tracing-" + label, "tracing " + label, on, Map.of(), compared);
    }

    static AppSpec compared(String name, boolean tracing, Map<String, String> settings) {
      return new AppSpec(name, name, name, tracing, settings, true);
    }
  }

  /**
   * The apps of this run: one (tracing off or on), two with tracing off and on ({@code --tracing
   * compare}), or the baseline and the variant with the {@code --compare} settings.
   */
  private List<AppSpec> appSpecs() {
    if (!options.compare().isEmpty()) {
      boolean on = options.tracing() == TracingMode.ON;
      return List.of(
          AppSpec.compared("baseline", on, Map.of()),
          AppSpec.compared("variant", on, options.compare()));
    }
    return options.tracing().variants().stream()
        .map(on -> AppSpec.tracing(on, options.tracing() == TracingMode.COMPARE))
        .toList();
  }

  /** Whether two apps are compared: tracing off and on, or a baseline and a variant. */
  private boolean comparing() {
    return options.tracing() == TracingMode.COMPARE || !options.compare().isEmpty();
  }

  /** One app under bench, as its spec says, with its own topics and meters. */
  private record Target(
      AppSpec spec,
      TopicCatalog catalog,
      AppConfig config,
      Observability observability,
      LlmStreamsApp app) {
    String label() {
      return spec.name();
    }

    boolean tracing() {
      return spec.tracing();
    }

    String description() {
      return spec.description();
    }
  }

  /** The apps under bench, closed (app, then its meters) in the reverse of their start. */
  private static final class Targets implements AutoCloseable {
    private final List<Target> started = new ArrayList<>();
    private final List<BulkTransactions> beside = new ArrayList<>();

    void add(Target t) {
      started.add(t);
    }

    void beside(BulkTransactions b) {
      beside.add(b);
    }

    List<Target> all() {
      return started;
    }

    @Override
    public void close() {
      for (BulkTransactions b : beside) {
        b.close();
      }
      for (int i = started.size() - 1; i >= 0; i--) {
        Target t = started.get(i);
        try {
          t.app().close();
        } finally {
          t.observability().close();
        }
      }
    }
  }

  /**
   * What a round measures once: a partitioner on the app, or (with {@code --tracing compare}) the
   * app with tracing off or on.
   */
  private record Variant(String key, String label, Target target, InputPartitioner partitioner) {}

  private Map<String, String> settings(
      BenchCluster cluster, String prefix, Path state, SimulatedLlmServer sim) {
    Map<String, String> settings = cluster.appSettings(prefix, state, sim);
    settings.put(
        AppConfig.provider("openai", "concurrency"), Integer.toString(options.concurrency()));
    // The operator's step limit is a ceiling: a bench of more steps than its default raises it,
    // never lowers it.
    settings.put(AppConfig.CONTROLLER_MAX_STEPS, Integer.toString(Math.max(10, options.steps())));
    options.clientSettings().forEach((k, v) -> settings.put(AppConfig.CLIENT_PREFIX + k, v));
    if (options.commitIntervalMs() != null) {
      settings.put(
          AppConfig.INTERACTIVE_COMMIT_INTERVAL_MS, Long.toString(options.commitIntervalMs()));
    }
    return settings;
  }

  private void createTopics(String bootstrap, TopicCatalog catalog) throws Exception {
    Set<TopicRole> resized =
        Set.of(
            TopicRole.GOALS,
            TopicRole.TOOL_RESULTS,
            TopicRole.CONTROLLER_LLM_REPLIES,
            TopicRole.APPROVALS,
            TopicRole.GOAL_CANCELLATIONS,
            TopicRole.HUMAN_ANSWERS,
            TopicRole.LLM_REQUESTS,
            TopicRole.CONTROLLER_LLM_REQUESTS,
            TopicRole.TOOL_CALLS);
    List<TopicSpec> specs = new ArrayList<>();
    for (TopicSpec s : catalog.all()) {
      specs.add(
          options.partitions() > 0 && resized.contains(s.role())
              ? s.withPartitions(options.partitions())
              : s);
    }
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      new TopicAdmin(admin, (short) -1).apply(specs, false);
    }
  }

  /**
   * Sends n goals, at most {@code inFlight} running at once (all at once when 0), each on the
   * partition the partitioner gives its goal id, and waits until each has its committed result, or
   * until none has finished for {@link #stall()} (the phase is then incomplete). A goal's result
   * time is when this bench's read_committed consumer received it: when a user could read the
   * answer.
   */
  private Driven drive(
      BenchCluster cluster,
      TopicCatalog catalog,
      int n,
      String label,
      int inFlight,
      InputPartitioner partitioner)
      throws Exception {
    Topic<Goal> goals = catalog.topic(Topics.GOALS);
    Topic<GoalResult> results = catalog.topic(Topics.GOAL_RESULTS);
    Map<String, Long> sentAt = new HashMap<>();
    Map<String, Long> resultAt = new HashMap<>();
    Map<String, GoalResult> byGoal = new HashMap<>();
    int duplicates = 0;
    int window = inFlight <= 0 ? n : Math.min(n, inFlight);
    String run = label.replace(' ', '-') + "-" + UUID.randomUUID().toString().substring(0, 6) + "-";
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    pp.put(ProducerConfig.LINGER_MS_CONFIG, 1);
    try (KafkaConsumer<String, String> consumer = cluster.committedReader(results.name(), false);
        KafkaProducer<String, Goal> producer =
            new KafkaProducer<>(
                pp, goals.keySerde().serializer(), goals.valueSerde().serializer())) {
      Sender sender =
          new Sender(
              producer, goals, partitioner, producer.partitionsFor(goals.name()).size(), sentAt);
      int sent = 0;
      long first = System.currentTimeMillis();
      for (; sent < window; sent++) {
        sender.send(run + sent);
      }
      producer.flush();
      long lastReport = System.nanoTime();
      long last = first;
      Instant giveUp =
          Instant.now().plusSeconds(120L + 3L * n * options.steps() * options.latencyMs() / 1000L);
      Instant stalled = Instant.now().plus(stall());
      while (resultAt.size() < n
          && Instant.now().isBefore(giveUp)
          && Instant.now().isBefore(stalled)) {
        boolean sentMore = false;
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(50))) {
          GoalResult result =
              results
                  .valueSerde()
                  .deserializer()
                  .deserialize(results.name(), r.value().getBytes(StandardCharsets.UTF_8));
          if (!sentAt.containsKey(result.goalId())) {
            continue;
          }
          if (resultAt.containsKey(result.goalId())) {
            duplicates++;
            continue;
          }
          last = System.currentTimeMillis();
          stalled = Instant.now().plus(stall());
          resultAt.put(result.goalId(), last);
          byGoal.put(result.goalId(), result);
          if (sent < n) {
            sender.send(run + sent++);
            sentMore = true;
          }
        }
        if (sentMore) {
          producer.flush();
        }
        if (System.nanoTime() - lastReport > 2_000_000_000L) {
          progress.say("%s: %d/%d goals finished, %d sent", label, resultAt.size(), n, sent);
          lastReport = System.nanoTime();
        }
      }
      if (resultAt.size() == n) {
        progress.say(
            "%s: %d/%d goals finished in %.2f s",
            label, resultAt.size(), n, (last - first) / 1000.0);
      } else {
        progress.say(
            "%s: INCOMPLETE, %d/%d goals finished (%d sent), none for %d s: phase ended",
            label, resultAt.size(), n, sent, stall().toSeconds());
      }
      return new Driven(
          sentAt, resultAt, byGoal, first, last, duplicates, n, sender.onMurmur2Partition);
    }
  }

  /** How long a phase waits for its next goal to finish before it ends incomplete. */
  private Duration stall() {
    return Duration.ofMillis(Math.max(30_000L, 10L * options.steps() * options.latencyMs()));
  }

  /**
   * Produces goals on the partition the partitioner gives their ids, and counts those murmur2 would
   * give too.
   */
  private static final class Sender {
    private final KafkaProducer<String, Goal> producer;
    private final Topic<Goal> topic;
    private final InputPartitioner partitioner;
    private final int partitions;
    private final Map<String, Long> sentAt;
    private int onMurmur2Partition;

    Sender(
        KafkaProducer<String, Goal> producer,
        Topic<Goal> topic,
        InputPartitioner partitioner,
        int partitions,
        Map<String, Long> sentAt) {
      this.producer = producer;
      this.topic = topic;
      this.partitioner = partitioner;
      this.partitions = partitions;
      this.sentAt = sentAt;
    }

    void send(String goalId) {
      Goal goal =
          new Goal(
              goalId,
              "Add one and two with the calculator, then report the sum.",
              List.of(TOOL),
              null,
              null,
              null,
              Map.of(),
              Instant.now());
      byte[] key = topic.keySerde().serializer().serialize(topic.name(), goalId);
      onMurmur2Partition +=
          partitioner.partition(key, partitions) == InputPartitioner.JAVA.partition(key, partitions)
              ? 1
              : 0;
      sentAt.put(goalId, System.currentTimeMillis());
      producer.send(
          new ProducerRecord<>(
              topic.name(), partitioner.explicitPartition(key, partitions), goalId, goal));
    }
  }

  /** The steps of a phase's goals, split into the parts the report shows. */
  private record Steps(
      List<Double> overhead,
      List<Double> llmLeg,
      List<Double> toolLeg,
      List<Double> llmLatency,
      List<Double> toolTime) {}

  private static Steps steps(Map<String, List<GoalEvent>> events) {
    Steps out =
        new Steps(
            new ArrayList<>(),
            new ArrayList<>(),
            new ArrayList<>(),
            new ArrayList<>(),
            new ArrayList<>());
    for (List<GoalEvent> goal : events.values()) {
      for (StepOverhead.Step s : StepOverhead.of(goal)) {
        out.overhead().add((double) s.overheadMs());
        out.llmLeg().add((double) s.llmLegMs());
        out.llmLatency().add((double) s.llmLatencyMs());
        if (s.toolLegMs() != 0 || s.toolMs() != 0) {
          out.toolLeg().add((double) s.toolLegMs());
          out.toolTime().add((double) s.toolMs());
        }
      }
    }
    return out;
  }

  private ObjectNode report(BenchCluster cluster, AppConfig config, List<Phase> phases) {
    TopicCatalog catalog = phases.get(0).variant().target().catalog();
    double ceiling = options.concurrency() * 1000.0 / (options.latencyMs() * options.steps());
    ObjectNode report = JsonNodeFactory.instance.objectNode();
    report.put("benchmark", "controller");
    report.put(
        "provider",
        "simulated OpenAI-compatible server (not an LLM), latency "
            + options.latencyMs()
            + " ms, "
            + (options.steps() - 1)
            + " tool-call turn(s) then the final answer");
    report.put(
        "tool_worker",
        config.getList(AppConfig.CONTROLLER_INLINE_TOOLS).contains(TOOL)
            ? "the controller, inline (controller.inline.tools): no tool-calls/tool-results record"
            : "the tools pattern's calculator, over tool-calls and tool-results");
    report.put(
        "llm_calls_path",
        config.getString(AppConfig.CONTROLLER_LLM_CALLS).equals("direct")
            ? "direct: the controller's task calls the gateway of the same app"
                + " (controller.llm.calls=direct); nothing on controller.llm-requests"
            : "topic: controller.llm-requests to the gateway's task, replies on"
                + " controller.llm-replies (controller.llm.calls=topic)");
    report.put("patterns", "gateway, controller, tools");
    report.put("goals", options.goals());
    report.put("steps", options.steps());
    report.put("latency_ms", options.latencyMs());
    report.put("concurrency", options.concurrency());
    report.put(
        "partitions",
        options.partitions() > 0
            ? options.partitions()
            : catalog.spec(TopicRole.GOALS).partitions());
    int firstLevel = options.inFlight().get(0);
    report.put("in_flight", firstLevel <= 0 ? "all goals at once" : Integer.toString(firstLevel));
    report.put("beside_transactions_ms", options.besideTransactionsMs());
    report.put("warmup_goals", options.warmupGoals());
    report.put("warmup_max_goals", options.warmupMaxGoals());
    Warmup first = warmups.values().stream().findFirst().orElse(null);
    if (first != null) {
      report.put("warmup_goals_run", first.goals());
      report.put("warmup_jit_share", Math.round(first.jitShare() * 1000) / 1000.0);
      report.put("warmup_jit_settled", first.settled());
    }
    report.put("processing_guarantee", config.getString(AppConfig.PROCESSING_GUARANTEE));
    report.put("commit_interval_ms", config.getLong(AppConfig.INTERACTIVE_COMMIT_INTERVAL_MS));
    report.put(
        "poll_ms",
        Math.min(
            config.getLong(AppConfig.POLL_MS),
            config.getLong(AppConfig.INTERACTIVE_COMMIT_INTERVAL_MS)));
    report.put("gateway_poll_ms", config.getLong(AppConfig.GATEWAY_POLL_MS));
    ObjectNode clients = report.putObject("kafka_client_settings");
    options.clientSettings().forEach(clients::put);
    // Every hop waits for a commit and a poll on 2 shared cores: other load on the machine shows in
    // the overhead.
    report.put("cpus", Runtime.getRuntime().availableProcessors());
    report.put("system_load_average_1m", GatewayBench.round(GatewayBench.loadAverage()));
    report.put("ceiling_goals_per_s", GatewayBench.round(ceiling));
    report.put("llm_calls_expected", (long) options.goals() * options.steps());
    report.put("tool_calls_expected", (long) options.goals() * (options.steps() - 1));
    report.put("phase_stall_timeout_s", stall().toSeconds());
    // Each variant's figures: per partitioner, or with --tracing compare per tracing setting.
    ObjectNode partitioning = JsonNodeFactory.instance.objectNode();
    for (Phase phase : phases) {
      ObjectNode measured = phase(cluster, phase.variant().target().catalog(), phase, ceiling);
      partitioning.set(phase.variant().key(), measured);
      progress.say(
          "%s: %s%d/%d goals, %s goals/s (%s of the ceiling), goal latency p50 %s ms, step overhead p50 %s"
              + " ms",
          phase.variant().label(),
          measured.path("complete").asBoolean() ? "" : "INCOMPLETE, ",
          measured.path("goals_finished").asInt(),
          options.goals(),
          measured.path("goals_per_s").asText("-"),
          measured.path("ratio").asText("-"),
          measured.path("goal_latency_p50_ms").asText("-"),
          measured.path("step_overhead_p50_ms").asText("-"));
    }
    // The first phase (java, unless only librdkafka ran; tracing off in a comparison) keeps the
    // top-level keys readers of older reports know.
    report.put("input_partitioner", phases.get(0).variant().partitioner().label());
    report.setAll((ObjectNode) partitioning.get(phases.get(0).variant().key()).deepCopy());
    if (options.tracing() == TracingMode.COMPARE) {
      ObjectNode tracing = report.putObject("tracing");
      tracing.put("mode", options.tracing().label());
      tracing.setAll(partitioning);
      partitioning = JsonNodeFactory.instance.objectNode();
    } else if (!options.compare().isEmpty()) {
      ObjectNode compare = report.putObject("compare");
      ObjectNode settings = compare.putObject("variant_settings");
      new TreeMap<>(options.compare()).forEach(settings::put);
      compare.setAll(partitioning);
      partitioning = JsonNodeFactory.instance.objectNode();
    }
    if (partitioning.has("java") && partitioning.has("librdkafka")) {
      JsonNode java = partitioning.get("java");
      JsonNode librdkafka = partitioning.get("librdkafka");
      boolean bothComplete =
          java.path("complete").asBoolean() && librdkafka.path("complete").asBoolean();
      if (bothComplete) {
        double ratio =
            librdkafka.path("goals_per_s").asDouble() / java.path("goals_per_s").asDouble();
        partitioning.put("ratio_librdkafka_to_java", GatewayBench.round(ratio));
        progress.say("librdkafka / java goals/s: %.2f", ratio);
      } else {
        partitioning.putNull("ratio_librdkafka_to_java");
        progress.say("librdkafka / java goals/s: none, a phase is incomplete");
      }
    }
    if (!comparing()) {
      report.set("partitioning", partitioning);
    }
    ObjectNode d = report.putObject("definitions");
    d.put(
        "goals_per_s",
        "goals finished / (time the last goal-result reached this bench's read_committed consumer"
            + " - time the first goal was produced)");
    d.put(
        "ceiling_goals_per_s", "concurrency / (latency * steps): every LLM slot busy all the time");
    d.put(
        "beside_transactions_ms",
        "0, or how long a producer beside the app kept each of its transactions open on every"
            + " partition of llm-requests (one after the other, all run long), as a busy summarizer or"
            + " specialist does: read_committed readers of a partition stop at its first open"
            + " transaction, and the controller's requests are on controller.llm-requests");
    d.put(
        "warmup_goals_run",
        "goals run before any measurement (the first app's, in a comparison): warmup_goals, then"
            + " chunks of "
            + WARMUP_CHUNK
            + " until the JIT compiler threads of the app and the broker (from /proc) used less than"
            + " "
            + Math.round(JIT_SETTLED * 100)
            + "% of the machine's CPU over a chunk (warmup_jit_settled), or warmup_max_goals;"
            + " warmup_jit_share is that share over the last chunk");
    d.put(
        "step_overhead",
        "per LLM step, from goal-events: from the step's start (its llm_requested; for steps after"
            + " the first, the handling of the previous step's last tool_result) to the next step's start (or finished),"
            + " minus the LLM latency (llm_replied data.latencyMs, measured by the gateway from the provider call's start)"
            + " minus the tool's own time (the largest tool_result data.durationMs of the step)");
    d.put(
        "step_overhead_phase",
        "step_overhead, llm_leg_overhead and tool_leg_overhead come from the latency phase:"
            + " latency_phase_goals goals run one at a time after the throughput phase, so they measure what the loop"
            + " adds to a step, not queueing behind other goals; loaded_* are the same measures over the throughput"
            + " phase, where goals also wait for each other (stream threads, LLM slots, CPU)");
    d.put(
        "llm_leg_overhead",
        "step start to the controller handling llm_replied, minus data.latencyMs: with direct"
            + " calls (llm_calls_path) the queue for a free slot and the controller's delivery"
            + " punctuation; through the topics also the request commit, the gateway's poll, the"
            + " reply commit and the controller's poll");
    d.put(
        "tool_leg_overhead",
        "llm_replied to the step's last tool_result, minus the largest durationMs (steps with"
            + " tool calls only): tool-call commit, worker poll, result commit, controller poll");
    d.put(
        "goal_latency", "goal produced to its goal-result received by this bench (read_committed)");
    d.put(
        "llm_calls",
        "chat completions the simulator received during the measured goals (warm-up excluded)");
    d.put(
        "tool_calls",
        "tool calls of the measured goals, each callId once, whether the controller answered it inline"
            + " or sent it to a worker: callIds of their tool_called events on goal-events, or of their records on"
            + " the tool-calls.* topics (all read_committed); tool_calls_on_topics: those with a tool-calls record,"
            + " the ones that went through a worker; tool_calls_inline: those whose tool_called event says inline: true,"
            + " answered by the controller in its own transaction (controller.inline.tools); tool_call_retries: dispatches after a call's first (per"
            + " callId the larger of the tool_called events beyond the first and the records of attempt 2 or"
            + " later); tool_results and tool_results_failed: per callId the larger of its tool_result events"
            + " and its tool-results records");
    d.put(
        "duplicate_tool_calls",
        "callIds with more than one committed tool_result event on goal-events, or more than one"
            + " record on tool-results, or seen more than once with attempt 1 on tool-calls."
            + TOOL
            + " (all read_committed); a callId counts once");
    d.put(
        "in_flight_levels",
        "one throughput phase per --in-flight level, in the order given, in the first round (later rounds"
            + " repeat the first level only): goals_per_s and ratio to ceiling_goals_per_s, loaded_* step"
            + " overheads and goal_latency with that many goals in flight. The ceiling depends on --concurrency,"
            + " not on the goals in flight: goals beyond the gateway's concurrency queue for an LLM slot, which"
            + " shows in their llm_leg_overhead, not in goals_per_s. The top-level figures are the first"
            + " level's");
    d.put(
        "partitioning",
        "the same workload (throughput phase, then latency phase, each with its own goal ids) once"
            + " per input partitioner, on the same broker and app, after one warm-up produced as Java does: java, goals"
            + " produced by a Java producer's default partitioner (murmur2 of the goal id); librdkafka, goals produced on"
            + " partition CRC-32(goal id) % partitions, where librdkafka's default partitioner (consistent_random) puts"
            + " them. The top-level figures are those of input_partitioner");
    d.put(
        "complete",
        "every goal of the phase (throughput and latency) had its result; otherwise a part that missed"
            + " results ended once no goal finished for phase_stall_timeout_s, its figures cover the goals that finished,"
            + " goals_per_s and ratio are null when the throughput part is incomplete, percentiles null when nothing was"
            + " measured");
    d.put(
        "goals_on_murmur2_partition",
        "goals of the throughput phase produced on the partition murmur2 gives their"
            + " id (all of them for java)");
    if (options.profile()) {
      d.put("profile", PROFILE_DEFINITION);
    }
    d.put(
        "ratio_librdkafka_to_java",
        "goals_per_s of librdkafka / goals_per_s of java; null unless both phases are"
            + " complete");
    return report;
  }

  /**
   * Each round's goals/s per partitioner and, with java and librdkafka both measured, the round's
   * ratio; the median of the ratios becomes {@code partitioning.ratio_librdkafka_to_java} when
   * there is more than one round.
   */
  private void reportRounds(ObjectNode report, List<Map<Variant, Driven>> byVariant) {
    if (comparing()) {
      return; // the rounds of a comparison go in its tracing or compare object
    }
    List<Map<InputPartitioner, Driven>> rounds = new ArrayList<>();
    for (Map<Variant, Driven> r : byVariant) {
      Map<InputPartitioner, Driven> round = new java.util.LinkedHashMap<>();
      r.forEach((v, run) -> round.put(v.partitioner(), run));
      rounds.add(round);
    }
    com.fasterxml.jackson.databind.node.ArrayNode out = report.putArray("rounds");
    List<Double> ratios = new ArrayList<>();
    for (int i = 0; i < rounds.size(); i++) {
      ObjectNode round = out.addObject().put("round", i + 1);
      Map<InputPartitioner, Double> rates = new java.util.LinkedHashMap<>();
      rounds
          .get(i)
          .forEach(
              (p, run) -> {
                round.withArray("order").add(p.label());
                double seconds = Math.max(1, run.lastResultMs() - run.firstSentMs()) / 1000.0;
                if (run.complete()) {
                  rates.put(p, run.resultAtMs().size() / seconds);
                  round.put(
                      p.label() + "_goals_per_s",
                      GatewayBench.round(run.resultAtMs().size() / seconds));
                } else {
                  round.putNull(p.label() + "_goals_per_s");
                }
              });
      Double java = rates.get(InputPartitioner.JAVA);
      Double librdkafka = rates.get(InputPartitioner.LIBRDKAFKA);
      if (java != null && librdkafka != null) {
        ratios.add(librdkafka / java);
        round.put("ratio_librdkafka_to_java", GatewayBench.round(librdkafka / java));
      }
    }
    ObjectNode partitioning = (ObjectNode) report.get("partitioning");
    boolean all = ratios.size() == rounds.size();
    if (rounds.size() > 1 && partitioning.has("ratio_librdkafka_to_java")) {
      List<Double> sorted = ratios.stream().sorted().toList();
      Double median =
          !all
              ? null
              : sorted.size() % 2 == 1
                  ? sorted.get(sorted.size() / 2)
                  : (sorted.get(sorted.size() / 2 - 1) + sorted.get(sorted.size() / 2)) / 2;
      partitioning.set(
          "ratio_librdkafka_to_java_first_round", partitioning.get("ratio_librdkafka_to_java"));
      if (median == null) {
        partitioning.putNull("ratio_librdkafka_to_java");
      } else {
        partitioning.put("ratio_librdkafka_to_java", GatewayBench.round(median));
        partitioning.put("ratio_librdkafka_to_java_min", GatewayBench.round(sorted.get(0)));
        partitioning.put(
            "ratio_librdkafka_to_java_max", GatewayBench.round(sorted.get(sorted.size() - 1)));
      }
      progress.say(
          "librdkafka / java goals/s over %d interleaved rounds: median %s, rounds %s",
          rounds.size(),
          median == null
              ? "none (a round is incomplete)"
              : String.format(java.util.Locale.ROOT, "%.3f", median),
          ratios.stream().map(r -> String.format(java.util.Locale.ROOT, "%.3f", r)).toList());
    }
    ((ObjectNode) report.get("definitions"))
        .put(
            "rounds",
            "the throughput phase run --rounds times per partitioner,"
                + " interleaved (java then librdkafka, then the other way round, and so on); partitioning's per-partitioner"
                + " figures are round 1's, and its ratio_librdkafka_to_java is the median of the rounds' ratios when there"
                + " is more than one round (ratio_librdkafka_to_java_first_round keeps round 1's)");
  }

  /** Goals per second of a complete throughput phase; null for an incomplete one. */
  private static Double rate(Driven run) {
    if (run == null || !run.complete()) {
      return null;
    }
    return run.resultAtMs().size() / (Math.max(1, run.lastResultMs() - run.firstSentMs()) / 1000.0);
  }

  /**
   * The report's {@code tracing}: the mode; with tracing on, the proof that spans were recorded and
   * shipped; with {@code compare}, each round's goals/s off and on and {@code
   * tracing_overhead_ratio}, the median of the rounds' on / off.
   */
  private void reportTracing(
      ObjectNode report,
      BenchCluster cluster,
      Targets targets,
      List<Map<Variant, Driven>> rounds,
      OtlpSink sink)
      throws InterruptedException {
    ObjectNode tracing =
        report.has("tracing") ? (ObjectNode) report.get("tracing") : report.putObject("tracing");
    tracing.put("mode", options.tracing().label());
    ObjectNode d = (ObjectNode) report.get("definitions");
    if (options.tracing() == TracingMode.COMPARE) {
      List<TracingOverhead.Round> compared = comparedRounds(rounds, Target::tracing);
      ObjectNode comparison = TracingOverhead.report(compared, "goals_per_s");
      tracing.setAll(comparison);
      report.set("tracing_overhead_ratio", comparison.get("tracing_overhead_ratio"));
      sayComparison(
          "tracing on / off", compared, comparison, "off", "on", "tracing_overhead_ratio");
      d.put("tracing", TracingOverhead.definition("goals_per_s"));
    } else {
      d.put(
          "tracing",
          "the apps ran with tracing.enabled="
              + (options.tracing() == TracingMode.ON)
              + (options.tracing() == TracingMode.ON
                  ? ": spans written to the spans topic and shipped over OTLP/HTTP to a local receiver"
                  : ": no spans (every record still carries a traceparent header)"));
    }
    for (Target t : targets.all()) {
      if (!t.tracing() || (!options.compare().isEmpty() && t != targets.all().get(0))) {
        continue; // with tracing on in a settings comparison, the baseline's spans are checked
      }
      Set<String> measured = new java.util.HashSet<>();
      long expected = 0;
      for (Map<Variant, Driven> r : rounds) {
        for (Map.Entry<Variant, Driven> e : r.entrySet()) {
          if (e.getKey().target() == t) {
            measured.addAll(e.getValue().sentAtMs().keySet());
            for (GoalResult g : e.getValue().results().values()) {
              expected += spansPerGoal(g.steps());
            }
          }
        }
      }
      TracingOverhead.Spans spans =
          TracingOverhead.spans(
              cluster,
              t.catalog().topic(Topics.SPANS).name(),
              s -> measured.contains(String.valueOf(s.attributes().get("gen_ai.conversation.id"))),
              expected,
              t.observability().registry(),
              sink,
              progress);
      spans.put(tracing);
      d.put(
          "spans",
          "spans_on_topic: records on the spans topic of the app with tracing on (read_committed, warm-up"
              + " and latency phases included); spans_of_measured_work: those whose gen_ai.conversation.id is a"
              + " goal of its throughput phases; ..._expected: 2 x steps per finished goal (invoke_agent, one"
              + " chat per LLM turn, one execute_tool per tool call); spans_exported: the app's"
              + " llmstreams.tracing.spans.exported once it caught up with the topic (or after 60 s);"
              + " otlp_*: what the local OTLP/HTTP receiver accepted");
    }
  }

  /**
   * Each round's goals/s of the two compared apps: {@code off} the baseline's (tracing off, or the
   * defaults), {@code on} the other's; null for a phase that did not complete.
   */
  private static List<TracingOverhead.Round> comparedRounds(
      List<Map<Variant, Driven>> rounds, java.util.function.Predicate<Target> isOther) {
    List<TracingOverhead.Round> compared = new ArrayList<>();
    for (Map<Variant, Driven> r : rounds) {
      Double base = null;
      Double other = null;
      List<Boolean> order = new ArrayList<>();
      for (Map.Entry<Variant, Driven> e : r.entrySet()) {
        boolean isIt = isOther.test(e.getKey().target());
        order.add(isIt);
        if (isIt) {
          other = rate(e.getValue());
        } else {
          base = rate(e.getValue());
        }
      }
      compared.add(new TracingOverhead.Round(base, other, order));
    }
    return compared;
  }

  /** A comparison's progress line: the median ratio, both apps' rates, each round's ratio. */
  private void sayComparison(
      String what,
      List<TracingOverhead.Round> compared,
      ObjectNode comparison,
      String base,
      String other,
      String ratioKey) {
    progress.say(
        "%s goals/s over %d interleaved round(s): median %s (%s %s, %s %s goals/s), rounds %s",
        what,
        compared.size(),
        comparison.path(ratioKey).asText("none (a round is incomplete)"),
        base,
        comparison.path(base + "_goals_per_s").asText("-"),
        other,
        comparison.path(other + "_goals_per_s").asText("-"),
        compared.stream()
            .map(c -> c.ratio() == null ? "-" : GatewayBench.round(c.ratio()) + "")
            .toList());
  }

  /**
   * The report's {@code compare} (with {@code --compare}): each round's goals/s of the baseline and
   * the variant and {@code variant_to_baseline_ratio}, the median of the rounds' variant /
   * baseline, beside both apps' figures.
   */
  private void reportCompare(ObjectNode report, List<Map<Variant, Driven>> rounds) {
    if (options.compare().isEmpty()) {
      return;
    }
    List<TracingOverhead.Round> compared = comparedRounds(rounds, t -> t.label().equals("variant"));
    ObjectNode comparison =
        TracingOverhead.report(
            compared, "goals_per_s", "baseline", "variant", "variant_to_baseline_ratio");
    ((ObjectNode) report.get("compare")).setAll(comparison);
    report.set("variant_to_baseline_ratio", comparison.get("variant_to_baseline_ratio"));
    sayComparison(
        "variant " + options.compare() + " / baseline",
        compared,
        comparison,
        "baseline",
        "variant",
        "variant_to_baseline_ratio");
    ((ObjectNode) report.get("definitions"))
        .put(
            "compare",
            "--compare: the measured phases run on two apps in the same run, each with its own topics"
                + " prefix, application ids and state, both started and warmed up before the first round: the"
                + " baseline with the defaults (and the bench's other options), the variant with"
                + " variant_settings on top. Round 1 measures every phase on each (compare.baseline and"
                + " compare.variant, the baseline's are the report's top-level figures); each round runs the"
                + " first in-flight level on both, in the order baseline, variant in odd rounds and variant,"
                + " baseline in even ones. variant_to_baseline_ratio = variant_goals_per_s / baseline_goals_per_s"
                + " of the same round, the median over the rounds (1.2: the variant is 20% faster); the"
                + " *_goals_per_s are the medians of the rounds' rates");
  }

  /**
   * Spans of one goal of {@code steps} LLM turns: invoke_agent, a chat per turn, a tool call per
   * turn but the last.
   */
  static long spansPerGoal(int steps) {
    return 1L + steps + Math.max(0, steps - 1);
  }

  /**
   * One variant's figures: its first in-flight level's throughput phase, step overheads from its
   * latency phase, then each level's own figures ({@code in_flight_levels}) and, when profiled,
   * each phase's CPU ({@code profile}).
   */
  private ObjectNode phase(
      BenchCluster cluster, TopicCatalog catalog, Phase phase, double ceiling) {
    Level first = phase.first();
    Driven run = first.run();
    Driven alone = phase.alone();
    Map<String, List<GoalEvent>> events = eventsOf(cluster, catalog, run.sentAtMs().keySet());
    Steps loaded = steps(events);
    Steps quiet =
        alone == null ? loaded : steps(eventsOf(cluster, catalog, alone.sentAtMs().keySet()));
    ToolCallTally.Counts tools = countTools(cluster, catalog, run.sentAtMs().keySet(), events);
    Map<String, Integer> statuses = new TreeMap<>();
    int expectedSteps = 0;
    List<Double> goalLatency = new ArrayList<>();
    for (GoalResult r : run.results().values()) {
      statuses.merge(r.status().name().toLowerCase(java.util.Locale.ROOT), 1, Integer::sum);
      expectedSteps += r.steps() == options.steps() ? 1 : 0;
      goalLatency.add((double) (run.resultAtMs().get(r.goalId()) - run.sentAtMs().get(r.goalId())));
    }
    int finished = run.resultAtMs().size();
    double seconds = Math.max(1, run.lastResultMs() - run.firstSentMs()) / 1000.0;
    double goalsPerS = finished / seconds;

    ObjectNode report = JsonNodeFactory.instance.objectNode();
    report.put("produced_as", phase.variant().partitioner().description());
    report.put("complete", run.complete() && (alone == null || alone.complete()));
    report.put("goals_sent", run.sentAtMs().size());
    report.put("goals_finished", finished);
    report.put("goals_on_murmur2_partition", run.onMurmur2Partition());
    report.put("goals_with_all_steps", expectedSteps);
    ObjectNode byStatus = report.putObject("statuses");
    statuses.forEach(byStatus::put);
    report.put("seconds", GatewayBench.round(seconds));
    if (run.complete()) {
      report.put("goals_per_s", GatewayBench.round(goalsPerS));
      report.put("ratio", GatewayBench.round(goalsPerS / ceiling));
    } else {
      // The goals that finished first, over the time until the last of them: not a throughput.
      report.putNull("goals_per_s");
      report.putNull("ratio");
    }
    report.put("llm_calls", first.llmCalls());
    report.put("llm_calls_per_s", GatewayBench.round(first.llmCalls() / seconds));
    report.put("tool_calls", tools.calls());
    report.put("tool_calls_on_topics", tools.onTopics());
    report.put("tool_calls_inline", tools.inline());
    report.put("tool_call_retries", tools.retries());
    report.put("tool_results", tools.results());
    report.put("tool_results_failed", tools.failed());
    report.put("duplicate_tool_calls", tools.duplicates());
    report.put("duplicate_goal_results", run.duplicateResults());
    report.put("latency_phase_goals", alone == null ? 0 : alone.resultAtMs().size());
    report.put("latency_phase_goals_sent", alone == null ? 0 : alone.sentAtMs().size());
    report.put("steps_measured", quiet.overhead().size());
    putPercentiles(report, "step_overhead", quiet.overhead());
    putPercentiles(report, "llm_leg_overhead", quiet.llmLeg());
    putPercentiles(report, "tool_leg_overhead", quiet.toolLeg());
    putPercentiles(report, "llm_latency", quiet.llmLatency());
    putPercentiles(report, "tool_duration", quiet.toolTime());
    putPercentiles(report, "loaded_step_overhead", loaded.overhead());
    putPercentiles(report, "loaded_llm_leg_overhead", loaded.llmLeg());
    putPercentiles(report, "loaded_tool_leg_overhead", loaded.toolLeg());
    putPercentiles(report, "goal_latency", goalLatency);
    com.fasterxml.jackson.databind.node.ArrayNode levels = report.putArray("in_flight_levels");
    ObjectNode profile = JsonNodeFactory.instance.objectNode();
    com.fasterxml.jackson.databind.node.ArrayNode profiled = profile.putArray("phases");
    for (Level l : phase.levels()) {
      ObjectNode level =
          l == first
              ? levelFigures(l, loaded, tools, goalLatency, ceiling)
              : level(cluster, catalog, l, ceiling);
      levels.add(level);
      if (l.profile() != null) {
        ObjectNode p = l.profile().json(inFlightLabel(l.inFlight()));
        level.set("profile", p);
        profiled.add(p);
      }
    }
    if (phase.aloneProfile() != null) {
      profiled.add(phase.aloneProfile().json("one at a time"));
    }
    if (!profiled.isEmpty()) {
      profile.put(
          "broker",
          cluster.brokerPid().isPresent()
              ? "local broker, pid " + cluster.brokerPid().getAsLong() + ", read from /proc"
              : "an external cluster (KAFKA_BOOTSTRAP): its CPU is unknown");
      report.set("profile", profile);
    }
    return report;
  }

  /** One in-flight level's figures, its goals' events read for the step overheads under load. */
  private ObjectNode level(BenchCluster cluster, TopicCatalog catalog, Level l, double ceiling) {
    Map<String, List<GoalEvent>> events = eventsOf(cluster, catalog, l.run().sentAtMs().keySet());
    List<Double> goalLatency = new ArrayList<>();
    l.run()
        .resultAtMs()
        .forEach((g, at) -> goalLatency.add((double) (at - l.run().sentAtMs().get(g))));
    return levelFigures(
        l,
        steps(events),
        countTools(cluster, catalog, l.run().sentAtMs().keySet(), events),
        goalLatency,
        ceiling);
  }

  /** An entry of {@code in_flight_levels}. */
  private static ObjectNode levelFigures(
      Level l, Steps loaded, ToolCallTally.Counts tools, List<Double> goalLatency, double ceiling) {
    Driven run = l.run();
    ObjectNode level = JsonNodeFactory.instance.objectNode();
    level.put(
        "in_flight", l.inFlight() <= 0 ? "all goals at once" : Integer.toString(l.inFlight()));
    level.put("complete", run.complete());
    level.put("goals_sent", run.sentAtMs().size());
    level.put("goals_finished", run.resultAtMs().size());
    double seconds = Math.max(1, run.lastResultMs() - run.firstSentMs()) / 1000.0;
    level.put("seconds", GatewayBench.round(seconds));
    Double rate = rate(run);
    if (rate == null) {
      level.putNull("goals_per_s");
      level.putNull("ratio");
    } else {
      level.put("goals_per_s", GatewayBench.round(rate));
      level.put("ratio", GatewayBench.round(rate / ceiling));
    }
    level.put("llm_calls", l.llmCalls());
    level.put("tool_calls", tools.calls());
    level.put("duplicate_tool_calls", tools.duplicates());
    level.put("duplicate_goal_results", run.duplicateResults());
    putPercentiles(level, "loaded_step_overhead", new ArrayList<>(loaded.overhead()));
    putPercentiles(level, "loaded_llm_leg_overhead", new ArrayList<>(loaded.llmLeg()));
    putPercentiles(level, "loaded_tool_leg_overhead", new ArrayList<>(loaded.toolLeg()));
    putPercentiles(level, "goal_latency", new ArrayList<>(goalLatency));
    return level;
  }

  /**
   * p50 and p99 of the values, null where there are none (an incomplete phase may measure no step).
   */
  private static void putPercentiles(ObjectNode report, String name, List<Double> values) {
    values.sort(null);
    for (double q : new double[] {0.50, 0.99}) {
      String key = String.format(java.util.Locale.ROOT, "%s_p%d_ms", name, Math.round(q * 100));
      if (values.isEmpty()) {
        report.putNull(key);
      } else {
        report.put(key, GatewayBench.round(GatewayBench.percentile(values, q)));
      }
    }
  }

  /**
   * The events of the given goals, per goal in partition order (one goal's events share a
   * partition).
   */
  private Map<String, List<GoalEvent>> eventsOf(
      BenchCluster cluster, TopicCatalog catalog, Set<String> goals) {
    Map<String, List<GoalEvent>> events = new HashMap<>();
    readGoalRecords(
        cluster,
        catalog.topic(Topics.GOAL_EVENTS),
        goals,
        e -> events.computeIfAbsent(e.goalId(), k -> new ArrayList<>()).add(e));
    return events;
  }

  /**
   * The tool calls of the goals, counted by callId from their committed goal-events (every call,
   * inline or through a worker) and from the tool-calls and tool-results topics (calls sent to a
   * worker), without counting a call twice ({@link ToolCallTally}).
   */
  private ToolCallTally.Counts countTools(
      BenchCluster cluster,
      TopicCatalog catalog,
      Set<String> goals,
      Map<String, List<GoalEvent>> events) {
    ToolCallTally tally = new ToolCallTally();
    events.values().forEach(goal -> goal.forEach(tally::event));
    for (String tool : catalog.tools()) {
      Topic<ToolCall> topic = catalog.toolCalls(tool, ToolCall.class);
      readGoalRecords(cluster, topic, goals, c -> tally.call(c, tool.equals(TOOL)));
    }
    readGoalRecords(cluster, catalog.topic(Topics.TOOL_RESULTS), goals, tally::result);
    return tally.counts();
  }

  /** Every committed record of a topic keyed by one of the goals, deserialized. */
  private static <T> void readGoalRecords(
      BenchCluster cluster,
      Topic<T> topic,
      Set<String> goals,
      java.util.function.Consumer<T> each) {
    cluster.readAll(
        topic.name(),
        r -> {
          if (goals.contains(r.key())) {
            each.accept(
                topic
                    .valueSerde()
                    .deserializer()
                    .deserialize(topic.name(), r.value().getBytes(StandardCharsets.UTF_8)));
          }
        });
  }
}
