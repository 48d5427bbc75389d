package dev.llmstreams.app;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.broker.LocalBroker;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.PatternModule;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Start everything and watch it work: the local broker (unless KAFKA_BOOTSTRAP is set), "
          + "the topics, the app with every pattern in this build, sample inputs, and the results as "
          + "they arrive. Ctrl-C stops everything it started."
    })
final class DemoCommand implements Callable<Integer> {
  static final String SAMPLE_DOCUMENTS = "demo/qmsum-documents.jsonl";
  static final String SAMPLE_GOALS = "demo/goals.jsonl";

  /** The meeting goal asks for a synthesis: give the summarizer time to make one first. */
  static final Duration GOALS_AFTER = Duration.ofSeconds(12);

  /**
   * The meeting the sample goal {@code demo-meeting} asks the synthesis tool about ({@value
   * SAMPLE_GOALS}): the goals wait until the summarizer has written a synthesis of it.
   */
  static final String MEETING_KEY = "Bed003";

  /** How long the goals wait for that synthesis at most. */
  static final Duration SYNTHESIS_WAIT = Duration.ofMinutes(2);

  @ParentCommand Main main;

  @Option(
      names = "--duration",
      paramLabel = "SECONDS",
      description = "Stop by itself after this many seconds (default: run until Ctrl-C).")
  Long durationSeconds;

  @Override
  public Integer call() throws Exception {
    Instant began = Instant.now();
    // With Node.js here, one sample goal calls a tool of a real MCP server (see DemoMcp).
    String noMcp = DemoMcp.prepare(main);
    AppConfig config = main.config();
    TopicCatalog catalog = main.catalog();
    LocalBroker broker = null;
    CountDownLatch stop = new CountDownLatch(1);
    List<AutoCloseable> started = new ArrayList<>();
    Thread hook =
        new Thread(
            () -> {
              stop.countDown();
              closeAll(started);
            },
            "llmstreams-demo-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      if (config.usesExternalCluster()) {
        say("using the Kafka cluster at %s (KAFKA_BOOTSTRAP)", config.bootstrapServers());
      } else {
        broker = new LocalBroker(Main.brokerSettings(config));
        LocalBroker.StartResult r;
        try {
          r = broker.start(Duration.ofSeconds(90));
        } catch (LocalBroker.PortInUseException e) {
          if (e.port() != config.getInt(AppConfig.KAFKA_PORT)) {
            throw e;
          }
          // Often a Kafka broker of the user's own: the demo can run on it instead.
          throw new Main.UserError(
              e.getMessage()
                  + "; or, if a Kafka broker listens there, run the demo on it (it creates its topics"
                  + " there): KAFKA_BOOTSTRAP="
                  + config.getString(AppConfig.KAFKA_HOST)
                  + ":"
                  + e.port()
                  + " bin/llm-streams demo");
        }
        if (r.outcome() == LocalBroker.StartResult.Outcome.STARTED) {
          LocalBroker startedBroker = broker;
          started.add(
              () -> {
                say("stopping the Kafka broker it started");
                startedBroker.stop(Duration.ofSeconds(30));
              });
          say(
              "Kafka broker started on %s in %.1f s (logs: %s)",
              r.bootstrap(), r.elapsed().toMillis() / 1000.0, broker.logFile());
        } else {
          say("Kafka broker already running on %s; leaving it running afterwards", r.bootstrap());
        }
      }
      if (noMcp == null) {
        say(
            "MCP: the reference server %s is declared in %s;"
                + " one sample goal calls its get-sum tool",
            DemoMcp.PACKAGE, config.getString(AppConfig.MCP_DIR));
      } else {
        say("MCP: no sample MCP goal in this run: %s", noMcp);
      }
      List<TopicAdmin.Change> changes = TopicsCommand.apply(config, main, false);
      say(
          "topics: %d in the catalog, %d created",
          changes.size(),
          changes.stream().filter(c -> c.action() == TopicAdmin.Action.CREATED).count());

      List<PatternModule> modules = Patterns.select(config.patterns(), false);
      boolean specialist = modules.stream().anyMatch(m -> m.name().equals("specialist"));
      // Trained before the app starts (first run only; then read from disk), so training and the
      // app share no cores.
      SpecialistModel model = specialist ? DemoSpecialist.model(config) : null;

      Observability observability = new Observability();
      LlmStreamsApp app = new LlmStreamsApp(config, catalog, observability);
      started.add(
          0,
          () -> {
            app.close();
            observability.close();
          });
      app.start(modules);
      say(
          "patterns running: %s (not in this build yet: %s)",
          modules.stream().map(PatternModule::name).toList(),
          Patterns.unavailable(config.patterns()));
      say(
          "metrics: http://%s:%d/metrics   health: /health   ready: /ready",
          config.getString(AppConfig.HTTP_HOST), app.httpPort());

      OutputPrinter printer = new OutputPrinter(main, catalog);
      started.add(0, printer);
      printer.start();

      if (!app.awaitReady(Duration.ofSeconds(60))) {
        throw new Main.UserError(
            "the app did not become ready within 60 s: " + app.health().toJson());
      }
      say(
          "ready in %.1f s; feeding sample inputs",
          Duration.between(began, Instant.now()).toMillis() / 1000.0);
      feed(config, catalog);
      if (specialist) {
        Thread events = DemoSpecialist.start(config, catalog, model, printer);
        started.add(0, events::interrupt);
      }
      if (modules.stream().anyMatch(m -> m.name().equals("controller"))) {
        if (stop.await(GOALS_AFTER.toSeconds(), TimeUnit.SECONDS)) {
          return 0;
        }
        // One sample goal asks the classify tool, which answers only once the published model is in
        // service.
        for (PatternModule m : modules) {
          if (m instanceof dev.llmstreams.specialist.SpecialistModule s
              && s.currentModel().get() == null) {
            say(
                "waiting for the specialist to serve its model before sending the sample goals ...");
            for (int i = 0; i < 120 && s.currentModel().get() == null; i++) {
              if (stop.await(1, TimeUnit.SECONDS)) {
                return 0;
              }
            }
          }
        }
        if (modules.stream().anyMatch(m -> m.name().equals("summarizer"))
            && !awaitSynthesis(config, catalog, stop)) {
          return 0;
        }
        feedGoals(config, catalog);
      }
      if (durationSeconds != null) {
        stop.await(durationSeconds, TimeUnit.SECONDS);
      } else {
        say("Ctrl-C to stop");
        stop.await();
      }
    } finally {
      closeAll(started);
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running: it closes everything
      }
    }
    return 0;
  }

  /**
   * Sample transcripts (QMSum, MIT licence) keyed by meeting, and one poison record to show
   * dead-letters.
   */
  private void feed(AppConfig config, TopicCatalog catalog) throws Exception {
    String documents = catalog.spec(TopicRole.DOCUMENTS).name();
    int sent = 0;
    try (KafkaProducer<byte[], byte[]> producer = Clients.producer(config);
        InputStream in = DemoCommand.class.getClassLoader().getResourceAsStream(SAMPLE_DOCUMENTS)) {
      if (in == null) {
        throw new IllegalStateException(SAMPLE_DOCUMENTS + " is missing from the jar");
      }
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      String line;
      while ((line = reader.readLine()) != null) {
        JsonNode doc = TailCommand.MAPPER.readTree(line);
        String key = doc.path("metadata").path("meeting").asText();
        producer.send(
            new ProducerRecord<>(
                documents,
                key.getBytes(StandardCharsets.UTF_8),
                line.getBytes(StandardCharsets.UTF_8)));
        sent++;
      }
      producer.send(
          new ProducerRecord<>(
              documents,
              "poison".getBytes(StandardCharsets.UTF_8),
              "this is not JSON".getBytes(StandardCharsets.UTF_8)));
      producer.flush();
    }
    say("sent %d transcript parts of 3 meetings to %s, and 1 malformed record", sent, documents);
  }

  /** Sample goals: each line of {@value #SAMPLE_GOALS} to {@code goals}, keyed by its goalId. */
  /**
   * Waits until a synthesis of {@link #MEETING_KEY} is on {@code syntheses} (read committed), at
   * most {@link #SYNTHESIS_WAIT}: under load the summarizer may need longer than {@link
   * #GOALS_AFTER}, and the meeting goal would then meet "no synthesis yet" and fail. False when the
   * demo is stopped meanwhile.
   */
  private boolean awaitSynthesis(
      AppConfig config, TopicCatalog catalog, java.util.concurrent.CountDownLatch stop) {
    String topic = catalog.spec(TopicRole.SYNTHESES).name();
    byte[] key = MEETING_KEY.getBytes(StandardCharsets.UTF_8);
    long deadline = System.nanoTime() + SYNTHESIS_WAIT.toNanos();
    boolean said = false;
    try (var consumer = Clients.committedReader(config, "llm-streams-demo-")) {
      consumer.seekToBeginning(TopicReads.assign(consumer, topic));
      while (System.nanoTime() < deadline) {
        if (stop.getCount() == 0) {
          return false;
        }
        for (var r : consumer.poll(Duration.ofMillis(500))) {
          if (java.util.Arrays.equals(r.key(), key)) {
            return true;
          }
        }
        if (!said) {
          say(
              "waiting for the summarizer's first synthesis of %s before sending the sample goals ...",
              MEETING_KEY);
          said = true;
        }
      }
    }
    say(
        "no synthesis of %s after %d s; sending the sample goals anyway",
        MEETING_KEY, SYNTHESIS_WAIT.toSeconds());
    return true;
  }

  private void feedGoals(AppConfig config, TopicCatalog catalog) throws Exception {
    String run = Long.toString(System.currentTimeMillis() % 1_000_000, 36);
    feedGoals(config, catalog, SAMPLE_GOALS, run);
    if (!config.getString(AppConfig.MCP_DIR).isBlank()
        && catalog.toolKey(DemoMcp.SERVER + TopicCatalog.MCP_TOOL_SEPARATOR + "get-sum") != null) {
      feedGoals(config, catalog, DemoMcp.GOALS, run);
    }
  }

  private void feedGoals(AppConfig config, TopicCatalog catalog, String resource, String run)
      throws Exception {
    String goals = catalog.spec(TopicRole.GOALS).name();
    int sent = 0;
    try (KafkaProducer<byte[], byte[]> producer = Clients.producer(config);
        InputStream in = DemoCommand.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is missing from the jar");
      }
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      String line;
      while ((line = reader.readLine()) != null) {
        // A unique id per run: a goal id the controller still remembers would be ignored as a
        // repeat.
        com.fasterxml.jackson.databind.node.ObjectNode goal =
            (com.fasterxml.jackson.databind.node.ObjectNode) TailCommand.MAPPER.readTree(line);
        String id = goal.path("goalId").asText() + "-" + run;
        goal.put("goalId", id);
        producer.send(
            new ProducerRecord<>(
                goals,
                id.getBytes(StandardCharsets.UTF_8),
                TailCommand.MAPPER.writeValueAsBytes(goal)));
        sent++;
      }
      producer.flush();
    }
    say(
        "sent %d sample goal%s to %s; each step prints as * goal-events, the end as ! goal-results",
        sent, sent == 1 ? "" : "s", goals);
  }

  private static void closeAll(List<AutoCloseable> started) {
    synchronized (started) {
      for (AutoCloseable c : started) {
        try {
          c.close();
        } catch (Exception e) {
          System.err.println("llm-streams demo: while stopping: " + e);
        }
      }
      started.clear();
    }
  }

  static void say(String format, Object... args) {
    System.out.printf("[demo] " + format + "%n", args);
  }
}
