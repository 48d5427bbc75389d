package dev.llmstreams.chaos;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.bench.Progress;
import dev.llmstreams.broker.LocalBroker;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Approval;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.llm.sim.SimulatedLlmServer;
import dev.llmstreams.runtime.Folders;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.TrainedModel;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.TopicSpec;
import dev.llmstreams.topics.Topics;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The engine of {@code chaos}: two app instances (every pattern, one application id) in their own
 * JVMs against a real broker and the simulated LLM, a known load with unique ids and poison on
 * every topic the app consumes, SIGKILLs of a random instance at random moments (each followed by a
 * restart), then every output read with read_committed and counted: lost, duplicated,
 * dead-lettered, repeated LLM and tool calls. See {@link #run()} for the report.
 */
public final class ChaosRun {
  /** The model the instances serve (the app's default {@code specialist.model.name}). */
  static final String MODEL_NAME = "banking77";

  private static final Duration SAMPLE_EVERY = Duration.ofSeconds(3);
  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

  /**
   * What to run.
   *
   * @param partitioner where every record the run produces goes (goals, documents, classification
   *     requests, approvals, poison): Java's default, librdkafka's CRC32 of the key, round robin,
   *     or a seeded draw per record
   * @param feed how long the load is spread over; the kills fall at random moments within it
   * @param outputTimeout how long to wait, after the load and the kills, for every output
   * @param llmLatencyMs the simulated LLM's latency (± half of it as jitter)
   * @param llmConcurrency the gateway's in-flight limit per instance ({@code
   *     llm.openai.concurrency})
   * @param trainExamples Banking77 training examples for the specialist's hashed model
   * @param clientSettings the apps' {@code kafka.client.*} settings (without the prefix), e.g.
   *     session.timeout.ms
   * @param workDir where instance configs, logs and state go
   */
  public record Options(
      int goals,
      int documents,
      int requests,
      int kills,
      double poisonShare,
      boolean restartBroker,
      long seed,
      Partitioning.Mode partitioner,
      String bootstrap,
      Duration feed,
      Duration outputTimeout,
      Duration readyTimeout,
      long llmLatencyMs,
      int llmConcurrency,
      int trainExamples,
      String appHeap,
      List<String> appJvmOptions,
      Map<String, String> clientSettings,
      Path workDir) {
    public Options {
      if (goals < 0 || documents < 0 || requests < 0 || kills < 0) {
        throw new IllegalArgumentException(
            "--goals, --documents, --requests and --kills must not be negative");
      }
      if (!(poisonShare >= 0 && poisonShare <= 1)) {
        throw new IllegalArgumentException(
            "--poison-share must be within 0..1, was " + poisonShare);
      }
      if (llmConcurrency < 1) {
        throw new IllegalArgumentException("--llm-concurrency must be at least 1");
      }
      java.util.Objects.requireNonNull(partitioner, "partitioner");
      appJvmOptions = List.copyOf(appJvmOptions);
      clientSettings = Map.copyOf(clientSettings);
    }
  }

  /**
   * One SIGKILL and what followed; {@code offKeySent}: records sent off their key's murmur2
   * partition before it.
   */
  record Kill(
      String instance,
      double atS,
      double restartedAtS,
      Double readyAfterS,
      boolean duringFeed,
      long offKeySent) {}

  private final Options options;
  private final Progress progress;
  private final long began = System.nanoTime();

  public ChaosRun(Options options, PrintStream progressOut) {
    this.options = options;
    this.progress = new Progress(progressOut, "chaos");
  }

  private double elapsedS() {
    return (System.nanoTime() - began) / 1e9;
  }

  /**
   * Runs it and returns the report: {@code inputs}, {@code outputs}, {@code lost}, {@code
   * duplicated}, {@code dead_letters}, {@code poison_sent}, {@code llm_calls_repeated}, {@code
   * tool_calls_repeated}, {@code kills}, {@code max_recovery_s}, then the ids of anything lost or
   * duplicated, the breakdown per pattern, the store sizes over time and {@code notes} defining
   * each number.
   */
  public ObjectNode run() throws Exception {
    String run = "chaos" + Long.toString(Math.abs(new Random().nextLong()) % 1_000_000_000L, 36);
    String prefix = run + ".";
    Path work = Files.createDirectories(options.workDir().resolve(run));
    Random random = new Random(options.seed());
    progress.say(
        "run %s: %d goals, %d documents, %d classification requests, poison share %.3f, %d kills%s,"
            + " partitioner %s; files in %s",
        run,
        options.goals(),
        options.documents(),
        options.requests(),
        options.poisonShare(),
        options.kills(),
        options.restartBroker() ? ", one broker restart" : "",
        options.partitioner().label(),
        work);
    try {
      return run(run, prefix, work, random);
    } finally {
      Folders.deleteQuietly(work.resolve("kafka"));
    }
  }

  private ObjectNode run(String run, String prefix, Path work, Random random) throws Exception {
    try (Cluster cluster = Cluster.start(options.bootstrap(), work.resolve("kafka"), progress);
        FetchCounter fetches = new FetchCounter();
        SimulatedLlmServer sim =
            new SimulatedLlmServer(
                    SimulatedLlmServer.Settings.defaults()
                        .withLatency(Duration.ofMillis(options.llmLatencyMs()))
                        .withJitter(Duration.ofMillis(options.llmLatencyMs() / 2))
                        .withSeed(options.seed()))
                .start()) {
      TopicCatalog catalog = TopicCatalog.load().withPrefix(prefix);
      String publishTopic = prefix + "chaos.published";
      createTopics(cluster.bootstrap(), catalog, publishTopic);
      List<LabeledText> questions = LabeledData.classpath(LabeledData.BANKING77_TEST);
      ChaosLoad load =
          new ChaosLoad(
              run,
              options.goals(),
              options.documents(),
              options.requests(),
              questions,
              options.seed(),
              Instant.now().truncatedTo(ChronoUnit.SECONDS));
      sim.withToolScript(
          (tool, messages) -> load.toolArguments(tool, messages, fetches, publishTopic));
      publishModel(cluster.bootstrap(), catalog, random);

      List<AppInstance> instances = new ArrayList<>();
      for (String name : List.of("a", "b")) {
        int port = freePort();
        instances.add(
            new AppInstance(
                name,
                work.resolve("instance-" + name),
                port,
                appSettings(
                    cluster.bootstrap(),
                    prefix,
                    work.resolve("instance-" + name).resolve("state"),
                    port,
                    sim,
                    fetches,
                    publishTopic),
                options.appHeap(),
                options.appJvmOptions()));
      }
      try {
        return drive(
            run, cluster, catalog, load, instances, sim, fetches, publishTopic, random, work);
      } finally {
        for (AppInstance instance : instances) {
          instance.close();
        }
        // The logs stay for a look after the run; the state (and the broker's data, below) would
        // only fill the disk.
        for (String name : List.of("a", "b")) {
          Folders.deleteQuietly(work.resolve("instance-" + name).resolve("state"));
          Folders.deleteQuietly(work.resolve("instance-" + name).resolve("tmp"));
        }
      }
    }
  }

  private ObjectNode drive(
      String run,
      Cluster cluster,
      TopicCatalog catalog,
      ChaosLoad load,
      List<AppInstance> instances,
      SimulatedLlmServer sim,
      FetchCounter fetches,
      String publishTopic,
      Random random,
      Path work)
      throws Exception {
    for (AppInstance instance : instances) {
      instance.start();
    }
    for (AppInstance instance : instances) {
      Optional<Duration> ready = instance.awaitReady(options.readyTimeout());
      if (ready.isEmpty()) {
        throw new IllegalStateException(
            "instance "
                + instance.name()
                + (instance.alive()
                    ? " did not become ready within " + options.readyTimeout().toSeconds() + " s"
                    : " exited")
                + "; its log ends:\n"
                + instance.logTail(40));
      }
      progress.say(
          "instance %s ready (http://127.0.0.1:%d, pid %s)",
          instance.name(), instance.httpPort(), instance.pid().orElse(-1L));
    }

    Observed live = new Observed(catalog, publishTopic, run);
    StoreSizes stores = new StoreSizes();
    Rerouted rerouted = new Rerouted();
    Partitioning placing = new Partitioning(options.partitioner());
    // Seeded apart from the run's random, so that --partitioner java replays the load, kill moments
    // and victims
    // that a seed gave before there was a choice; the feeder and the approver draw from their own.
    Random placingRandom = new Random(options.seed() * 0x9E3779B97F4A7C15L + 1);
    Random feedPlacing = new Random(placingRandom.nextLong());
    Random approvalPlacing = new Random(placingRandom.nextLong());
    AtomicBoolean stop = new AtomicBoolean();
    Map<String, AtomicInteger> sent = new ConcurrentHashMap<>();
    List<Accounting.SourceOffset> poisonSent = new CopyOnWriteArrayList<>();
    Map<String, Integer> poisonPerTopic = new ConcurrentHashMap<>();
    List<Kill> kills = new CopyOnWriteArrayList<>();
    AtomicInteger killsStarted = new AtomicInteger();
    Set<String> approved = ConcurrentHashMap.newKeySet();
    ScheduledExecutorService scheduler =
        Executors.newScheduledThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "chaos-sampler");
              t.setDaemon(true);
              return t;
            });
    Thread watcher =
        daemon("chaos-watcher", () -> tail(cluster.bootstrap(), live.topics(), live::add, stop));
    Thread approver =
        daemon(
            "chaos-approver",
            () ->
                approve(
                    cluster.bootstrap(), catalog, load, approved, placing, approvalPlacing, stop));
    AtomicBoolean feeding = new AtomicBoolean(true);
    List<ChaosLoad.Item> items = items(catalog, load, new Random(random.nextLong()));
    KillGate gate = new KillGate(killShares(random), items.size());
    Thread feeder =
        daemon(
            "chaos-feeder",
            () -> {
              try {
                feed(
                    cluster.bootstrap(),
                    items,
                    gate,
                    placing,
                    feedPlacing,
                    sent,
                    poisonSent,
                    poisonPerTopic);
              } catch (Exception e) {
                progress.say("feeding failed: %s", e);
              } finally {
                feeding.set(false);
                gate.feedDone();
              }
            });
    watcher.start();
    approver.start();
    scheduler.scheduleAtFixedRate(
        () -> sample(instances, stores, rerouted),
        0,
        SAMPLE_EVERY.toMillis(),
        TimeUnit.MILLISECONDS);
    scheduler.scheduleAtFixedRate(
        () -> say(load, live, sent, placing, killsStarted, sim),
        PROGRESS_EVERY.toMillis(),
        PROGRESS_EVERY.toMillis(),
        TimeUnit.MILLISECONDS);
    feeder.start();
    Double brokerRestartS = null;
    try {
      int brokerAfter = options.restartBroker() && cluster.canRestart() ? options.kills() / 2 : -1;
      for (int i = 0; i < options.kills(); i++) {
        gate.awaitShare(i);
        AppInstance victim = instances.get(random.nextInt(instances.size()));
        double at = elapsedS();
        boolean duringFeed = feeding.get();
        long offKeySent = placing.offKey();
        killsStarted.incrementAndGet();
        victim.kill();
        gate.killed();
        progress.say(
            "kill %d/%d: SIGKILL instance %s%s, %d records sent off their key's partition so far;"
                + " restarting it",
            i + 1,
            options.kills(),
            victim.name(),
            duringFeed ? " (load still arriving)" : " (after the load was sent)",
            offKeySent);
        victim.start();
        double restarted = elapsedS();
        Optional<Duration> ready = victim.awaitReady(options.readyTimeout());
        kills.add(
            new Kill(
                victim.name(),
                at,
                restarted,
                ready.map(d -> d.toMillis() / 1000.0).orElse(null),
                duringFeed,
                offKeySent));
        progress.say(
            "instance %s %s",
            victim.name(),
            ready
                .map(d -> String.format("ready %.1f s after its restart", d.toMillis() / 1000.0))
                .orElse("NOT ready within " + options.readyTimeout().toSeconds() + " s"));
        if (i == brokerAfter) {
          brokerRestartS = restartBroker(cluster, instances);
        }
      }
      if (options.restartBroker() && brokerAfter < 0 && cluster.canRestart()) {
        brokerRestartS = restartBroker(cluster, instances);
      }
      feeder.join();
      progress.say(
          "load sent; waiting up to %d s for every output", options.outputTimeout().toSeconds());
      awaitOutputs(load, live, poisonSent);
    } finally {
      stop.set(true);
      scheduler.shutdownNow();
      feeder.interrupt();
    }
    watcher.join(10_000);
    approver.join(10_000);
    sample(instances, stores, rerouted);
    progress.say("reading every output topic with read_committed ...");
    Observed seen = new Observed(catalog, publishTopic, run);
    readAll(cluster.bootstrap(), seen.topics(), seen::add);
    return report(
        run,
        load,
        seen,
        poisonSent,
        poisonPerTopic,
        kills,
        sim,
        fetches,
        stores,
        placing,
        rerouted,
        brokerRestartS,
        cluster.canRestart(),
        catalog,
        work);
  }

  // ---- the load ----

  /** The valid inputs and the poison, in one seeded order. */
  private List<ChaosLoad.Item> items(TopicCatalog catalog, ChaosLoad load, Random random) {
    List<ChaosLoad.Item> items =
        new ArrayList<>(
            load.inputs(
                catalog.topic(Topics.GOALS).name(),
                catalog.topic(Topics.DOCUMENTS).name(),
                catalog.topic(Topics.CLASSIFICATION_REQUESTS).name(),
                random));
    int p = 0;
    for (Map.Entry<String, Integer> e : poisonCounts(catalog).entrySet()) {
      for (int i = 0; i < e.getValue(); i++) {
        items.add(
            random.nextInt(items.size() + 1),
            new ChaosLoad.Item(
                "poison", null, e.getKey(), "poison-" + (p++), null, ChaosLoad.poison(random)));
      }
    }
    return items;
  }

  /**
   * Where in the load each kill falls: seeded shares of the records sent, within 5%..95%, in order.
   */
  private double[] killShares(Random random) {
    double[] shares = new double[options.kills()];
    for (int i = 0; i < shares.length; i++) {
      shares[i] = 0.05 + 0.9 * random.nextDouble();
    }
    java.util.Arrays.sort(shares);
    return shares;
  }

  /**
   * Sends the records evenly over the feed time, pausing at each kill's share of the load until
   * that kill happened (the previous victim may still be starting): so every kill falls under load,
   * with more load right after it.
   */
  private void feed(
      String bootstrap,
      List<ChaosLoad.Item> items,
      KillGate gate,
      Partitioning placing,
      Random placingRandom,
      Map<String, AtomicInteger> sent,
      List<Accounting.SourceOffset> poisonSent,
      Map<String, Integer> poisonPerTopic)
      throws Exception {
    long tickNanos = Math.max(1, options.feed().toNanos() / Math.max(1, items.size()));
    try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap)) {
      List<java.util.concurrent.Future<RecordMetadata>> poisonFutures = new ArrayList<>();
      long due = System.nanoTime();
      for (int i = 0; i < items.size(); i++) {
        if (gate.awaitKill(i)) {
          due =
              System
                  .nanoTime(); // the time spent waiting for a kill does not make the rest come in a
          // burst
        }
        ChaosLoad.Item item = items.get(i);
        byte[] key = item.key() == null ? null : item.key().getBytes(StandardCharsets.UTF_8);
        byte[] value = item.poison() ? item.raw() : Json.writer().writeValueAsBytes(item.value());
        var future =
            producer.send(placing.record(producer, placingRandom, item.topic(), key, value));
        if (item.poison()) {
          poisonFutures.add(future);
          poisonPerTopic.merge(item.topic(), 1, Integer::sum);
        }
        sent.computeIfAbsent(item.kind(), k -> new AtomicInteger()).incrementAndGet();
        gate.sent(i + 1);
        due += tickNanos;
        long sleepMs = (due - System.nanoTime()) / 1_000_000L;
        if (sleepMs >= 20) {
          producer.flush();
          Thread.sleep(sleepMs);
        }
      }
      producer.flush();
      for (var f : poisonFutures) {
        RecordMetadata m = f.get();
        poisonSent.add(new Accounting.SourceOffset(m.topic(), m.partition(), m.offset()));
      }
    }
  }

  /**
   * Poison records per topic: every topic some pattern consumes (inputs, replies, tool calls, tool
   * results, approvals, labels, llm-requests). The three load topics get their share of the load;
   * the others the share of the goals, at least one each. specialist-models is left out: a global
   * store, read by every instance at start.
   */
  Map<String, Integer> poisonCounts(TopicCatalog catalog) {
    Map<String, Integer> out = new LinkedHashMap<>();
    if (options.poisonShare() <= 0) {
      return out;
    }
    int small = (int) Math.max(1, Math.round(options.poisonShare() * Math.max(1, options.goals())));
    out.put(
        catalog.spec(TopicRole.GOALS).name(),
        (int) Math.max(1, Math.round(options.poisonShare() * options.goals())));
    out.put(
        catalog.spec(TopicRole.DOCUMENTS).name(),
        (int) Math.max(1, Math.round(options.poisonShare() * options.documents())));
    out.put(
        catalog.spec(TopicRole.CLASSIFICATION_REQUESTS).name(),
        (int) Math.max(1, Math.round(options.poisonShare() * options.requests())));
    for (TopicRole role :
        List.of(
            TopicRole.LABELS,
            TopicRole.APPROVALS,
            TopicRole.GOAL_CANCELLATIONS,
            TopicRole.HUMAN_ANSWERS,
            TopicRole.TOOL_RESULTS,
            TopicRole.LLM_REQUESTS,
            TopicRole.CONTROLLER_LLM_REQUESTS,
            TopicRole.CONTROLLER_LLM_REPLIES,
            TopicRole.SUMMARIZER_LLM_REPLIES,
            TopicRole.SPECIALIST_LLM_REPLIES)) {
      out.put(catalog.spec(role).name(), small);
    }
    for (String tool : new java.util.TreeSet<>(catalog.tools())) {
      if (tool.equals("ask_human")) {
        continue; // people read its questions: no pattern of the app does, so none dead-letters
      }
      out.put(catalog.toolCalls(tool, dev.llmstreams.events.ToolCall.class).name(), small);
    }
    return out;
  }

  /** Approves every publish call of this run's goals: the tool requires a person's approval. */
  private void approve(
      String bootstrap,
      TopicCatalog catalog,
      ChaosLoad load,
      Set<String> approved,
      Partitioning placing,
      Random placingRandom,
      AtomicBoolean stop) {
    Topic<GoalEvent> events = catalog.topic(Topics.GOAL_EVENTS);
    Topic<Approval> approvals = catalog.topic(Topics.APPROVALS);
    Set<String> goals = new HashSet<>(load.goalIds());
    try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap)) {
      tail(
          bootstrap,
          List.of(events.name()),
          r -> {
            if (r.key() == null || !goals.contains(new String(r.key(), StandardCharsets.UTF_8))) {
              return;
            }
            try {
              GoalEvent e = Json.readerFor(GoalEvent.class).readValue(r.value());
              if (e.type() == GoalEventType.APPROVAL_REQUESTED
                  && e.causationId() != null
                  && approved.add(e.causationId())) {
                Approval a =
                    new Approval(
                        e.goalId(),
                        e.causationId(),
                        Approval.Decision.APPROVE,
                        "chaos run",
                        "chaos",
                        Instant.now());
                producer.send(
                    placing.record(
                        producer,
                        placingRandom,
                        approvals.name(),
                        r.key(),
                        Json.writer().writeValueAsBytes(a)));
                producer.flush();
              }
            } catch (IOException | RuntimeException ex) {
              // not a goal event of ours
            }
          },
          stop);
    }
  }

  /**
   * Ties the kills to the load: kill i falls once share i of the records is sent, and the feeder
   * waits for it.
   */
  private static final class KillGate {
    private final long[] at;
    private int killed;
    private long sent;
    private boolean done;

    KillGate(double[] shares, int total) {
      at = new long[shares.length];
      for (int i = 0; i < shares.length; i++) {
        at[i] = (long) Math.floor(shares[i] * total);
      }
    }

    synchronized void sent(long n) {
      sent = n;
      notifyAll();
    }

    synchronized void feedDone() {
      done = true;
      notifyAll();
    }

    synchronized void killed() {
      killed++;
      notifyAll();
    }

    /**
     * The feeder, before record {@code index}: waits while a kill due before it has not happened;
     * true if it waited.
     */
    synchronized boolean awaitKill(long index) throws InterruptedException {
      boolean waited = false;
      while (killed < at.length && index >= at[killed]) {
        wait();
        waited = true;
      }
      return waited;
    }

    /**
     * The killer: waits until the records before kill {@code i} are sent (or the feeder stopped).
     */
    synchronized void awaitShare(int i) throws InterruptedException {
      while (!done && sent < at[i]) {
        wait();
      }
    }
  }

  // ---- the instances ----

  private Map<String, String> appSettings(
      String bootstrap,
      String prefix,
      Path state,
      int httpPort,
      SimulatedLlmServer sim,
      FetchCounter fetches,
      String publishTopic) {
    Map<String, String> s = new LinkedHashMap<>();
    s.put(AppConfig.KAFKA_BOOTSTRAP, bootstrap);
    s.put(AppConfig.TOPICS_PREFIX, prefix);
    s.put(AppConfig.APPLICATION_ID, prefix + "app");
    s.put(AppConfig.STATE_DIR, state.toString());
    // A fixed port, the same after each restart: /ready and /metrics are polled there.
    s.put(AppConfig.HTTP_PORT, Integer.toString(httpPort));
    s.put(AppConfig.LLM_ROUTE_DEFAULT, "openai");
    s.put(AppConfig.provider("openai", "base.url"), sim.baseUrl().toString());
    s.put(AppConfig.provider("openai", "model"), SimulatedLlmServer.DEFAULT_MODEL);
    s.put(AppConfig.provider("openai", "concurrency"), Integer.toString(options.llmConcurrency()));
    s.put(AppConfig.TOOLS_HTTP_ALLOWED_HOSTS, "127.0.0.1");
    s.put(AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS, publishTopic);
    options.clientSettings().forEach((k, v) -> s.put(AppConfig.CLIENT_PREFIX + k, v));
    return s;
  }

  private Double restartBroker(Cluster cluster, List<AppInstance> instances)
      throws InterruptedException {
    progress.say("restarting the broker ...");
    double start = elapsedS();
    cluster.restart();
    for (AppInstance instance : instances) {
      instance.awaitReady(options.readyTimeout());
    }
    double took = elapsedS() - start;
    progress.say(
        "broker restarted; both instances ready again %.1f s after the broker stopped", took);
    return took;
  }

  private void sample(List<AppInstance> instances, StoreSizes stores, Rerouted rerouted) {
    List<Map<String, Double>> parsed = new ArrayList<>();
    for (AppInstance instance : instances) {
      String start = instance.name() + "#" + instance.starts();
      instance
          .metrics()
          .ifPresent(
              text -> {
                parsed.add(StoreSizes.parse(text));
                rerouted.add(start, text);
              });
    }
    stores.add(Math.round(elapsedS() * 10) / 10.0, parsed);
  }

  private void say(
      ChaosLoad load,
      Observed live,
      Map<String, AtomicInteger> sent,
      Partitioning placing,
      AtomicInteger kills,
      SimulatedLlmServer sim) {
    Set<String> inSyntheses = live.documentsInSyntheses();
    long docs = load.documentIds().stream().filter(inSyntheses::contains).count();
    progress.say(
        "sent %d goals, %d documents, %d requests, %d poison (%d off their key's partition) | goal-results"
            + " %d/%d, documents in syntheses %d/%d, classifications %d/%d, dead letters %d | kills %d | LLM calls %d"
            + " (%d repeated)",
        count(sent, "goal"),
        count(sent, "document"),
        count(sent, "classification"),
        count(sent, "poison"),
        placing.offKey(),
        live.goalOutputs.size(),
        load.goals.size(),
        docs,
        load.documents.size(),
        live.classificationOutputs.size(),
        load.requests.size(),
        live.deadLetterRecords.size(),
        kills.get(),
        sim.stats().calls(),
        sim.repeatedRequestIdCalls());
  }

  private static int count(Map<String, AtomicInteger> sent, String kind) {
    AtomicInteger n = sent.get(kind);
    return n == null ? 0 : n.get();
  }

  /**
   * Waits until every input has an output (or a dead letter naming it) and every poison record is
   * dead-lettered.
   */
  private void awaitOutputs(ChaosLoad load, Observed live, List<Accounting.SourceOffset> poisonSent)
      throws InterruptedException {
    long deadline = System.nanoTime() + options.outputTimeout().toNanos();
    Set<String> goals = new HashSet<>(load.goalIds());
    Set<String> docs = new HashSet<>(load.documentIds());
    Set<String> requests = new HashSet<>(load.requestIds());
    while (System.nanoTime() < deadline) {
      boolean done =
          live.goalOutputs.keySet().containsAll(goals)
              && live.classificationOutputs.keySet().containsAll(requests)
              && live.documentsInSyntheses().containsAll(docs)
              && live.deadLetterSources().containsAll(poisonSent);
      if (done) {
        progress.say("every output is in; a last look in 5 s for late duplicates");
        Thread.sleep(5_000);
        return;
      }
      Thread.sleep(1_000);
    }
    progress.say(
        "gave up waiting after %d s: the report names what is missing",
        options.outputTimeout().toSeconds());
  }

  // ---- the report ----

  private ObjectNode report(
      String run,
      ChaosLoad load,
      Observed seen,
      List<Accounting.SourceOffset> poisonSent,
      Map<String, Integer> poisonPerTopic,
      List<Kill> kills,
      SimulatedLlmServer sim,
      FetchCounter fetches,
      StoreSizes stores,
      Partitioning placing,
      Rerouted rerouted,
      Double brokerRestartS,
      boolean brokerRestartable,
      TopicCatalog catalog,
      Path work) {
    Set<Accounting.SourceOffset> poison = new HashSet<>(poisonSent);
    Pattern ids = Pattern.compile(Pattern.quote(run) + "-[gdc]-\\d{6}");
    Set<String> allIds = new HashSet<>();
    allIds.addAll(load.goalIds());
    allIds.addAll(load.documentIds());
    allIds.addAll(load.requestIds());
    Set<String> dead = seen.deadLetteredInputs(allIds, poison, ids);

    Map<String, Accounting.Count> perPattern = new LinkedHashMap<>();
    perPattern.put("controller", Accounting.count(load.goalIds(), seen.goalOutputs, dead));
    perPattern.put(
        "summarizer",
        Accounting.count(
            load.documentIds(),
            Accounting.documentOutputs(
                load.documentIds(), seen.documentsInSyntheses(), seen.chunkRequests),
            dead));
    perPattern.put(
        "specialist", Accounting.count(load.requestIds(), seen.classificationOutputs, dead));

    int inputs = 0;
    long outputs = 0;
    List<String> lost = new ArrayList<>();
    List<String> duplicated = new ArrayList<>();
    for (Accounting.Count c : perPattern.values()) {
      inputs += c.inputs();
      outputs += c.outputs();
      lost.addAll(c.lost());
      duplicated.addAll(c.duplicated());
    }
    List<Accounting.SourceOffset> poisonMissing =
        Accounting.poisonMissing(poisonSent, seen.deadLetterSources());
    long llmRepeated = sim.repeatedRequestIdCalls();
    int restarts = options.kills() + (brokerRestartS != null ? 1 : 0);
    long llmLimit = (long) options.llmConcurrency() * restarts;
    List<String> toolRepeated =
        Accounting.toolCallsRepeated(seen.toolResultsPerCall, seen.publicationsPerGoal);
    List<String> toolResultsRepeated = Accounting.toolResultsRepeated(seen.toolResultsPerCall);
    Map<String, Integer> refetched = new java.util.TreeMap<>();
    fetches
        .fetches()
        .forEach(
            (call, n) -> {
              if (n > 1) {
                refetched.put(call, n);
              }
            });
    double maxRecovery =
        kills.stream()
            .filter(k -> k.readyAfterS() != null)
            .mapToDouble(Kill::readyAfterS)
            .max()
            .orElse(0);
    boolean allRecovered = kills.stream().allMatch(k -> k.readyAfterS() != null);

    ObjectNode r = JsonNodeFactory.instance.objectNode();
    r.put("inputs", inputs);
    r.put("outputs", outputs);
    r.put("lost", lost.size());
    r.put("duplicated", duplicated.size());
    r.put("dead_letters", seen.deadLetterRecords.size());
    r.put("poison_sent", poisonSent.size());
    r.put("llm_calls_repeated", llmRepeated);
    r.put("tool_calls_repeated", toolRepeated.size());
    r.put("kills", kills.size());
    r.put("max_recovery_s", round(maxRecovery));
    r.put("sent_off_key_partition", placing.offKey());
    if (rerouted.seen()) {
      r.put("records_rerouted", rerouted.total());
    } else {
      r.putNull("records_rerouted");
    }
    putIds(r, "lost_ids", lost);
    putIds(r, "duplicated_ids", duplicated);
    r.put("poison_dead_lettered", poisonSent.size() - poisonMissing.size());
    putIds(r, "poison_missing", poisonMissing.stream().map(Object::toString).toList());
    ObjectNode poisonTopics = r.putObject("poison_per_topic");
    new java.util.TreeMap<>(poisonPerTopic).forEach(poisonTopics::put);
    ObjectNode verdict = r.putObject("verdict");
    verdict.put("lost_is_zero", lost.isEmpty());
    verdict.put("duplicated_is_zero", duplicated.isEmpty());
    verdict.put("every_poison_dead_lettered", poisonMissing.isEmpty());
    verdict.put("tool_calls_repeated_is_zero", toolRepeated.isEmpty());
    verdict.put("llm_calls_repeated_limit", llmLimit);
    verdict.put("llm_calls_repeated_within_limit", llmRepeated <= llmLimit);
    verdict.put("every_kill_recovered", allRecovered);
    verdict.put(
        "passed",
        lost.isEmpty()
            && duplicated.isEmpty()
            && poisonMissing.isEmpty()
            && toolRepeated.isEmpty()
            && llmRepeated <= llmLimit
            && allRecovered);

    ObjectNode patterns = r.putObject("per_pattern");
    perPattern.forEach(
        (name, c) -> {
          ObjectNode p = patterns.putObject(name);
          p.put(
              "input",
              switch (name) {
                case "controller" -> "goals";
                case "summarizer" -> "documents";
                default -> "classification-requests";
              });
          p.put("inputs", c.inputs());
          p.put("outputs", c.outputs());
          p.put("inputs_with_output", c.withOutput());
          p.put("dead_lettered", c.deadLettered());
          p.put("lost", c.lost().size());
          p.put("duplicated", c.duplicated().size());
          putIds(p, "lost_ids", c.lost());
          putIds(p, "duplicated_ids", c.duplicated());
        });
    ObjectNode statuses = ((ObjectNode) patterns.get("controller")).putObject("statuses");
    new java.util.TreeMap<>(seen.goalStatuses).forEach(statuses::put);
    ObjectNode sources = ((ObjectNode) patterns.get("specialist")).putObject("sources");
    new java.util.TreeMap<>(seen.classificationSources).forEach(sources::put);

    ObjectNode partitioners = r.putObject("partitioners");
    partitioners.put("partitioner", placing.mode().label());
    ObjectNode perTopic = partitioners.putObject("per_topic");
    placing.perTopic().forEach((topic, counts) -> counts.forEach(perTopic.putObject(topic)::put));
    ObjectNode reroutedPerTopic = partitioners.putObject("rerouted_per_topic");
    rerouted.perTopic().forEach(reroutedPerTopic::put);

    ObjectNode llm = r.putObject("llm");
    llm.put("calls", sim.stats().calls());
    llm.put("calls_with_request_id", sim.callsWithRequestId());
    llm.put("repeated", llmRepeated);
    llm.put("in_flight_limit_per_instance", options.llmConcurrency());
    llm.put("limit", llmLimit);
    llm.put("latency_ms", options.llmLatencyMs());
    ObjectNode repeatedIds = llm.putObject("repeated_request_ids");
    sim.repeatedRequestIds().entrySet().stream()
        .limit(200)
        .forEach(e -> repeatedIds.put(e.getKey(), e.getValue()));

    ObjectNode tools = r.putObject("tools");
    tools.put("calls_with_results", seen.toolResultsPerCall.size());
    tools.put(
        "publications",
        seen.publicationsPerGoal.values().stream().mapToInt(Integer::intValue).sum());
    putIds(tools, "repeated_ids", toolRepeated);
    tools.put("results_repeated", toolResultsRepeated.size());
    putIds(tools, "results_repeated_ids", toolResultsRepeated);
    tools.put(
        "http_get_fetches", fetches.fetches().values().stream().mapToInt(Integer::intValue).sum());
    tools.put("http_get_refetched_calls", refetched.size());
    ObjectNode refetchedIds = tools.putObject("http_get_refetched");
    refetched.forEach(refetchedIds::put);

    ArrayNode killList = r.putArray("kill_log");
    for (Kill k : kills) {
      ObjectNode o = killList.addObject();
      o.put("instance", k.instance());
      o.put("at_s", round(k.atS()));
      o.put("restarted_at_s", round(k.restartedAtS()));
      if (k.readyAfterS() == null) {
        o.putNull("recovery_s");
      } else {
        o.put("recovery_s", round(k.readyAfterS()));
      }
      o.put("during_load", k.duringFeed());
      o.put("sent_off_key_partition_before", k.offKeySent());
    }
    if (brokerRestartS != null) {
      r.put("broker_restart_recovery_s", round(brokerRestartS));
    } else if (options.restartBroker()) {
      r.put("broker_restart_recovery_s", "not done: the broker is not one this command started");
    }
    ObjectNode dl = r.putObject("dead_letters_by_source");
    seen.deadLettersBySource().forEach(dl::put);

    ObjectNode storeSizes = r.putObject("store_sizes");
    stores
        .series()
        .forEach(
            (store, points) -> {
              ArrayNode series = storeSizes.putArray(store);
              points.forEach(p -> series.addArray().add(p[0]).add(p[1]));
            });

    ObjectNode settings = r.putObject("settings");
    settings.put("run", run);
    settings.put("goals", options.goals());
    settings.put("documents", options.documents());
    settings.put("classification_requests", options.requests());
    settings.put("poison_share", options.poisonShare());
    settings.put("seed", options.seed());
    settings.put("partitioner", options.partitioner().label());
    settings.put("feed_s", options.feed().toSeconds());
    settings.put("instances", 2);
    settings.put("app_heap", options.appHeap());
    options.appJvmOptions().forEach(settings.putArray("app_jvm_options")::add);
    settings.put(
        "patterns", "gateway, tools, controller, summarizer, specialist (all, in each instance)");
    settings.put(
        "llm",
        "simulated OpenAI-compatible server (not an LLM), latency "
            + options.llmLatencyMs()
            + " ms ± "
            + options.llmLatencyMs() / 2);
    ObjectNode clients = settings.putObject("kafka_client_settings");
    options.clientSettings().forEach(clients::put);
    settings.put("work_dir", work.toString());
    settings.put("cpus", Runtime.getRuntime().availableProcessors());
    r.put("wall_s", round(elapsedS()));
    notes(r.putObject("notes"), stores.gaugeSeen(), rerouted.seen(), brokerRestartable);
    return r;
  }

  private static void notes(
      ObjectNode n, boolean gaugeSeen, boolean reroutedSeen, boolean brokerRestartable) {
    n.put(
        "inputs",
        "goals + documents + classification requests sent (each with a unique id); poison, approvals and"
            + " the model are not inputs");
    n.put(
        "outputs",
        "committed output records of those inputs, read with read_committed after the run: goal-results"
            + " per goalId; classifications per eventId; per document, 1 when the latest synthesis of its key (all-time or"
            + " its window) lists its id, counted again for each extra committed copy of one of its chunk-summary requests"
            + " on llm-requests (which would be summarized and billed again)");
    n.put(
        "lost",
        "inputs with no committed output and not named by a dead letter (by id, in its value or reason)");
    n.put("duplicated", "inputs with more than one committed output");
    n.put(
        "dead_letters",
        "records on dead-letters during the run: the poison plus anything the app refused");
    n.put(
        "poison_sent",
        "malformed records (not JSON, cut JSON, invalid UTF-8) sent to every topic a pattern consumes"
            + " except specialist-models (a global store); each is matched in dead-letters by the source topic, partition"
            + " and offset headers");
    n.put(
        "llm_calls_repeated",
        "calls the simulated LLM received with an X-Client-Request-Id (the LlmRequest's"
            + " requestId) it had already received; the gateway's retries would count too, but the simulator injects no"
            + " faults here. The limit is the gateway's in-flight limit per instance (llm.openai.concurrency) times the"
            + " kills (plus one for a broker restart): the calls in flight when a process dies, or when its tasks move,"
            + " are started again by the task's next owner");
    n.put(
        "tool_calls_repeated",
        "tool calls that ran twice: callIds with two different committed tool-results (a"
            + " result names the worker process, so a second run gives a different record) plus publish side effects"
            + " seen twice (records on the publish topic per goal; each goal makes one call). tools.results_repeated also"
            + " counts identical repeats: the worker's stored answer to a call the controller sent again after its"
            + " timeout (attempt 2), which runs nothing");
    n.put(
        "http_get",
        "the http_get goals fetch a loopback page of this command that counts GETs per call;"
            + " tools.http_get_refetched_calls are calls fetched more than once: a GET repeated after a kill is a read,"
            + " idempotent, and allowed (the worker remembers a call only once its result is committed)");
    n.put(
        "kills",
        "SIGKILLs (Process.destroyForcibly) of a random instance (seeded) at random moments within the"
            + " load; each is restarted at once with the same state dir and port");
    n.put(
        "max_recovery_s",
        "the longest time from an instance's restart (new JVM) until its /ready answered 200,"
            + " i.e. every pattern's Kafka Streams instance RUNNING again (it includes JVM start, state restoration and"
            + " the rebalance, which waits for the dead member's session to expire)");
    n.put(
        "partitioners",
        "where the run put each record it produced (goals, documents, classification requests,"
            + " approvals, poison; not the model on specialist-models, a global store): java = the Java producer's default"
            + " (murmur2 of the key), librdkafka = CRC32 of the key modulo the topic's partitions (kcat and the Python, Go,"
            + " .NET and Node clients), explicit = round robin over the partitions whatever the key, mixed = a seeded draw"
            + " of one of the three per record. per_topic counts the records per partitioner and those off their key's"
            + " partition");
    n.put(
        "sent_off_key_partition",
        "keyed records (poison included) sent to a partition other than murmur2(key) %"
            + " the topic's partitions, where the app's own producers put a key: the app has to re-route each to the task"
            + " holding its key's state (a poison record is refused there, its dead letter naming where it was sent)."
            + " kill_log.sent_off_key_partition_before says how many were sent before each kill");
    n.put(
        "records_rerouted",
        reroutedSeen
            ? Rerouted.COUNTER
                + " of the instances, summed: the highest value seen of each JVM (a kill resets the"
                + " counter; sampled every 3 s, so what a JVM re-routed after its last sample is missing, and re-routes of"
                + " an aborted transaction count again when they run again)"
            : "null: no instance exposed " + Rerouted.COUNTER + " (not in this build)");
    n.put(
        "store_sizes",
        gaugeSeen
            ? "per store, [seconds since the start, llmstreams_store_entries summed over the live instances], sampled"
                + " every 3 s"
            : "empty: no instance exposed llmstreams_store_entries (the gauge is not in this build)");
    if (!brokerRestartable) {
      n.put("broker_restart", "not possible: the Kafka cluster is not one this command started");
    }
  }

  private static void putIds(ObjectNode node, String field, List<String> ids) {
    ArrayNode a = node.putArray(field);
    ids.stream().limit(1000).forEach(a::add);
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }

  // ---- Kafka ----

  private void createTopics(String bootstrap, TopicCatalog catalog, String publishTopic)
      throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      List<TopicSpec> specs = catalog.all();
      new TopicAdmin(admin, (short) -1).apply(specs, false);
      admin
          .createTopics(List.of(new NewTopic(publishTopic, Optional.of(3), Optional.empty())))
          .all()
          .get();
    }
  }

  /**
   * Trains the specialist's hashed model on a seeded slice of Banking77 and publishes it to
   * specialist-models.
   */
  private void publishModel(String bootstrap, TopicCatalog catalog, Random random)
      throws Exception {
    List<LabeledText> train = new ArrayList<>(LabeledData.classpath(LabeledData.BANKING77_TRAIN));
    Collections.shuffle(train, random);
    List<LabeledText> slice = train.subList(0, Math.min(train.size(), options.trainExamples()));
    progress.say(
        "training the specialist's hashed model on %d Banking77 examples ...", slice.size());
    TrainedModel trained =
        ModelTrainer.train(
            MODEL_NAME,
            slice,
            TrainingOptions.defaults().withKind(ModelKind.HASHED).withOutOfScope(0, 1),
            line -> {});
    SpecialistModel model = trained.record();
    Topic<SpecialistModel> models = catalog.topic(Topics.SPECIALIST_MODELS);
    try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap)) {
      producer
          .send(
              new ProducerRecord<>(
                  models.name(),
                  model.name().getBytes(StandardCharsets.UTF_8),
                  models.valueSerde().serializer().serialize(models.name(), model)))
          .get();
    }
    progress.say(
        "model %s %s published (%s)", model.name(), model.version(), trained.dev().summary());
  }

  private static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
    Map<String, Object> props = new HashMap<>();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    // A broker restart in the middle: keep trying rather than lose a record of the load.
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 300_000);
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 300_000);
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 32 * 1024 * 1024);
    return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static KafkaConsumer<byte[], byte[]> committedReader(String bootstrap) {
    Map<String, Object> props = new HashMap<>();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 32 * 1024 * 1024);
    return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  private static List<TopicPartition> assignFromStart(
      KafkaConsumer<byte[], byte[]> consumer, List<String> topics) {
    List<TopicPartition> parts = new ArrayList<>();
    for (String topic : topics) {
      consumer
          .partitionsFor(topic)
          .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
    }
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    return parts;
  }

  /**
   * Hands every committed record of the topics, from the start until {@code stop}, to {@code each}.
   */
  private static void tail(
      String bootstrap,
      List<String> topics,
      java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each,
      AtomicBoolean stop) {
    try (KafkaConsumer<byte[], byte[]> consumer = committedReader(bootstrap)) {
      assignFromStart(consumer, topics);
      while (!stop.get()) {
        try {
          consumer.poll(Duration.ofMillis(300)).forEach(each);
        } catch (org.apache.kafka.common.errors.InterruptException e) {
          return;
        } catch (org.apache.kafka.common.KafkaException e) {
          // The broker is restarting: the consumer reconnects on the next poll.
        }
      }
    }
  }

  /**
   * Hands every committed record of the topics, from the start to their end as of now, to {@code
   * each}.
   */
  private static void readAll(
      String bootstrap,
      List<String> topics,
      java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
    try (KafkaConsumer<byte[], byte[]> consumer = committedReader(bootstrap)) {
      List<TopicPartition> parts = assignFromStart(consumer, topics);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        consumer.poll(Duration.ofMillis(300)).forEach(each);
      }
    }
  }

  private static Thread daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    return t;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /**
   * The Kafka of a run: the cluster named by the bootstrap, else a local broker this run starts
   * (and can restart).
   */
  private static final class Cluster implements AutoCloseable {
    private final String bootstrap;
    private final LocalBroker broker;

    private Cluster(String bootstrap, LocalBroker broker) {
      this.bootstrap = bootstrap;
      this.broker = broker;
    }

    static Cluster start(String external, Path home, Progress progress) throws IOException {
      if (external != null && !external.isBlank()) {
        progress.say("using the Kafka cluster at %s", external);
        return new Cluster(external, null);
      }
      LocalBroker broker =
          new LocalBroker(
              new LocalBroker.Settings(
                  home,
                  LocalBroker.DEFAULT_HOST,
                  freePort(),
                  freePort(),
                  LocalBroker.DEFAULT_HEAP));
      progress.say("starting a local Kafka broker ...");
      LocalBroker.StartResult r = broker.start(Duration.ofSeconds(120));
      progress.say("broker ready at %s in %.1f s", r.bootstrap(), r.elapsed().toMillis() / 1000.0);
      return new Cluster(r.bootstrap(), broker);
    }

    String bootstrap() {
      return bootstrap;
    }

    boolean canRestart() {
      return broker != null;
    }

    void restart() {
      broker.stop(Duration.ofSeconds(60));
      broker.start(Duration.ofSeconds(120));
    }

    @Override
    public void close() {
      if (broker != null) {
        broker.stop(Duration.ofSeconds(60));
      }
    }
  }
}
