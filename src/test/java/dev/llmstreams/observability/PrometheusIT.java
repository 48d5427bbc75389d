package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.app.GeneratedDocs;
import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.app.ReferenceDocs;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.Approval;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.ScriptedLlmServer;
import dev.llmstreams.specialist.SpecialistModule;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.testkit.mcp.ScriptedMcpServer;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.Topics;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus, with the repository's {@code prometheus.yml} and rules, scrapes the app on a
 * real broker after traffic through every pattern (a goal with a retried LLM call, a parallel step
 * and an approval; documents that merge; a poison record; an escalation that falls back from openai
 * to the offline engine), and every metric name that a dashboard panel or a rule reads must return
 * data. The same run makes the reference page of the meters ({@code docs/meters.md}, see {@link
 * ReferenceDocs#meters}).
 */
@WithKafka
class PrometheusIT {
  // Assumed specialist meter names, read by its dashboard and alert before the pattern exports
  // them: empty after merge.

  private static final JsonSerde<Goal> GOALS = JsonSerde.of(Goal.class);
  private static final JsonSerde<GoalEvent> EVENTS = JsonSerde.of(GoalEvent.class);
  private static final JsonSerde<Approval> APPROVALS = JsonSerde.of(Approval.class);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir Path dir;

  private static final List<String> OTEL_PROPERTIES =
      List.of("otel.exporter.otlp.endpoint", "otel.exporter.otlp.protocol", "otel.traces.exporter");
  private final Map<String, String> previous = new HashMap<>();

  /** Other tests in this JVM must not find tracing configured. */
  @org.junit.jupiter.api.AfterEach
  void restoreOtelProperties() {
    for (String k : OTEL_PROPERTIES) {
      if (previous.get(k) == null) {
        System.clearProperty(k);
      } else {
        System.setProperty(k, previous.get(k));
      }
    }
  }

  // A machine without Prometheus reports this test skipped, with how to install it.
  @BeforeEach
  void needsPrometheus() {
    assumeTrue(
        Monitoring.binary("prometheus").isPresent(),
        "no prometheus on the PATH: " + Monitoring.INSTALL_HINT);
  }

  @Test
  @Timeout(400)
  void shouldReturnDataForEveryMetricThatADashboardOrARuleReads(KafkaCluster kafka)
      throws Exception {
    String prefix = KafkaCluster.uniqueName("mon") + ".";
    String newsTopic = prefix + "team-news";
    // An MCP server (the test kit's scripted one, over stdio) whose echo tool the goal calls, so
    // the MCP bridge's meters are there too.
    TopicCatalog catalog =
        TopicCatalog.load().withPrefix(prefix).withMcpTopics(List.of("scripted"), prefix);
    Path mcpDir = Files.createDirectories(dir.resolve("mcp"));
    List<String> mcpCommand = ScriptedMcpServer.command(dir.resolve("mcp-calls.jsonl"));
    Files.writeString(
        mcpDir.resolve("scripted.json"),
        Json.writer()
            .writeValueAsString(
                Map.of(
                    "name", "scripted",
                    "command", mcpCommand.get(0),
                    "args", mcpCommand.subList(1, mcpCommand.size()))));
    new TopicAdmin(kafka.admin(), (short) -1).apply(catalog.all(), false);
    kafka.admin().createTopics(List.of(new NewTopic(newsTopic, 1, (short) 1))).all().get();

    // Tracing on, shipped to a real OTLP receiver: the tracing meters are there too, and every
    // pattern runs with its spans sink in use.
    OTEL_PROPERTIES.forEach(k -> previous.put(k, System.getProperty(k)));
    try (ScriptedLlmServer llm = ScriptedLlmServer.start();
        dev.llmstreams.testkit.otlp.OtlpReceiver receiver =
            dev.llmstreams.testkit.otlp.OtlpReceiver.start()) {
      System.setProperty("otel.exporter.otlp.endpoint", receiver.endpoint());
      System.setProperty("otel.exporter.otlp.protocol", "http/protobuf");
      System.setProperty("otel.traces.exporter", "otlp");
      // The controller's first call fails once (a retry to meter), then the script plans one
      // parallel step.
      llm.enqueue(
          ScriptedLlmServer.OPENAI_PATH,
          ScriptedLlmServer.Reply.json(
              503, ScriptedLlmServer.openAiError("overloaded", "try again")));
      // The specialist's escalations go to openai first, which refuses them (HTTP 401, a failure
      // that neither retries nor counts in the circuit), and on to the offline engine: a fallback
      // for the gateway dashboard's panel.
      llm.setDefault(
          request ->
              isEscalation(request)
                  ? ScriptedLlmServer.Reply.json(
                      401, ScriptedLlmServer.openAiError("invalid_api_key", "not for escalations"))
                  : ScriptedLlmServer.Reply.json(script(request, newsTopic)));
      Map<String, String> settings = new HashMap<>();
      settings.put(AppConfig.KAFKA_BOOTSTRAP, kafka.bootstrapServers());
      settings.put(AppConfig.TOPICS_PREFIX, prefix);
      settings.put(AppConfig.APPLICATION_ID, prefix + "app");
      settings.put(AppConfig.STATE_DIR, dir.resolve("state").toString());
      settings.put(AppConfig.HTTP_PORT, "0");
      settings.put(AppConfig.route("controller"), "openai");
      settings.put(AppConfig.route("specialist"), "openai,offline");
      settings.put(AppConfig.provider("openai", "base.url"), llm.openAiBaseUrl().toString());
      settings.put(AppConfig.provider("openai", "api.key"), "sk-test-not-a-secret");
      settings.put(AppConfig.provider("openai", "price.input.per.mtok"), "1");
      // Every controller request also goes to a shadow candidate (Anthropic's API on the same
      // script), so the shadow meters are there too.
      settings.put(AppConfig.shadow("controller", "route"), "anthropic");
      settings.put(AppConfig.shadow("controller", "sample"), "1");
      settings.put(AppConfig.provider("anthropic", "base.url"), llm.anthropicBaseUrl().toString());
      settings.put(AppConfig.provider("anthropic", "api.key"), "sk-ant-test-not-a-secret");
      settings.put(AppConfig.provider("anthropic", "price.input.per.mtok"), "3");
      settings.put(AppConfig.LLM_RETRY_INITIAL_BACKOFF_MS, "50");
      settings.put(AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS, newsTopic);
      settings.put(AppConfig.MCP_DIR, mcpDir.toString());
      settings.put(AppConfig.SUMMARIZER_MERGE_FAN_IN, "2");
      settings.put(AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS, "0");
      settings.put(AppConfig.TRACING_ENABLED, "true");
      // A tenant's rate limit, high enough never to delay: its waits meter is scraped (at 0).
      settings.put("llm.tenant.default.requests.per.minute", "1000000");
      try (Observability observability = new Observability();
          LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability)) {
        app.start(
            List.of(
                new GatewayModule(),
                new ControllerModule(),
                new ToolsModule(),
                new SummarizerModule(),
                new SpecialistModule()));
        await().atMost(Duration.ofSeconds(90)).until(() -> app.health().ready());
        Process prometheus = startPrometheus(app.httpPort());
        try {
          int port = prometheusPort;
          sendTraffic(kafka, catalog);
          sendClassifications(kafka, catalog);
          approveHeldCalls(kafka, catalog, "g1");
          pingMcpServer(app.httpPort());

          Map<String, Set<String>> used = usedMetricNames(port);
          Set<String> checked = new TreeSet<>(used.keySet());
          // Kafka client meters appear at the binder's next refresh (every 60 s), recorded series
          // after their inputs.
          await()
              .atMost(Duration.ofSeconds(180))
              .pollInterval(Duration.ofSeconds(2))
              .untilAsserted(
                  () ->
                      assertThat(describe(withoutData(port, checked), used))
                          .as("metric names with no data in Prometheus")
                          .isEmpty());
          assertRulesHealthy(port);
          // Every pattern's spans reached the OTLP receiver, each under its application's name.
          await()
              .atMost(Duration.ofSeconds(60))
              .untilAsserted(
                  () ->
                      assertThat(
                              receiver.spans().stream()
                                  .map(sp -> sp.service() + " " + sp.name().split(" ")[0])
                                  .collect(java.util.stream.Collectors.toSet()))
                          .contains(
                              prefix + "app-controller invoke_agent",
                              prefix + "app-gateway chat",
                              prefix + "app-tools execute_tool",
                              prefix + "app-summarizer summarize_chunk",
                              prefix + "app-summarizer synthesize",
                              prefix + "app-specialist classify"));
          System.out.println(
              "PrometheusIT: " + checked.size() + " metric names return data: " + checked);
          // The reference page of the meters is this app's registry after traffic through every
          // pattern.
          GeneratedDocs.checkEventually(
              ReferenceDocs.METERS,
              () -> ReferenceDocs.meters(observability.registry()),
              ReferenceDocs.REGENERATE_METERS,
              Duration.ofSeconds(30));
        } finally {
          prometheus.destroy();
          prometheus.waitFor();
        }
      }
    }
  }

  /** One message to the app's own MCP server, so that its request meter is there too. */
  private static void pingMcpServer(int httpPort) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/mcp"))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  /** A specialist's escalation: the only requests that are not a goal's ({@code Goal g1: …}). */
  private static boolean isEscalation(ScriptedLlmServer.RecordedRequest request) {
    return ScriptedLlmServer.OPENAI_PATH.equals(request.path())
        && "?".equals(ScriptedLlmServer.goalIdOf(request.json()));
  }

  /** Turn 1: a calculator call and a publish (held for approval) in one step; then the answer. */
  /** The goal's script, in the API the request came on (the shadow candidate's: Anthropic's). */
  private static JsonNode script(ScriptedLlmServer.RecordedRequest request, String newsTopic) {
    boolean anthropic = ScriptedLlmServer.ANTHROPIC_PATH.equals(request.path());
    String answer = "6*7 = 42, and the team has it.";
    if (ScriptedLlmServer.assistantTurns(request.json()) > 0) {
      return anthropic
          ? ScriptedLlmServer.anthropicText(answer)
          : ScriptedLlmServer.openAiText(answer);
    }
    ToolCallRequest[] calls = {
      new ToolCallRequest("call_a", "calculator", Json.tree("{\"expression\":\"6*7\"}")),
      new ToolCallRequest("call_c", "scripted__echo", Json.tree("{\"message\":\"42\"}")),
      new ToolCallRequest(
          "call_b",
          "publish",
          Json.tree(
              "{\"topic\":\"" + newsTopic + "\",\"key\":\"g1\",\"record\":{\"answer\":\"42\"}}"))
    };
    return anthropic
        ? ScriptedLlmServer.anthropicToolUse(null, calls)
        : ScriptedLlmServer.openAiToolCalls(calls);
  }

  private int prometheusPort;

  private Process startPrometheus(int appPort) throws IOException, InterruptedException {
    prometheusPort = freePort();
    String config = Files.readString(Monitoring.PROMETHEUS.resolve("prometheus.yml"));
    Map<String, String> replacements = new LinkedHashMap<>();
    replacements.put(
        "dns_sd_configs:\n      - names: [\"app\"]\n        type: A\n        port: 9400",
        "static_configs:\n      - targets: [\"127.0.0.1:" + appPort + "\"]"); // no Docker DNS here
    replacements.put("\"localhost:9090\"", "\"127.0.0.1:" + prometheusPort + "\"");
    replacements.put("rules/*.yml", Monitoring.RULES.toAbsolutePath() + "/*.yml");
    replacements.put(
        "15s", "1s"); // scrape and evaluate every second so rates have points within the test
    for (Map.Entry<String, String> r : replacements.entrySet()) {
      assertThat(config).as("prometheus.yml as this test expects it").contains(r.getKey());
      config = config.replace(r.getKey(), r.getValue());
    }
    Path file = dir.resolve("prometheus.yml");
    Files.writeString(file, config);
    Process process =
        new ProcessBuilder(
                Monitoring.binary("prometheus").orElseThrow().toString(),
                "--config.file=" + file,
                "--storage.tsdb.path=" + dir.resolve("tsdb"),
                "--web.listen-address=127.0.0.1:" + prometheusPort,
                "--log.level=warn")
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("prometheus.log").toFile())
            .start();
    await()
        .atMost(Duration.ofSeconds(60))
        .ignoreExceptions()
        .until(
            () -> {
              assertThat(process.isAlive())
                  .as(Files.readString(dir.resolve("prometheus.log")))
                  .isTrue();
              return get(prometheusPort, "/-/ready").statusCode() == 200;
            });
    return process;
  }

  private static void sendTraffic(KafkaCluster kafka, TopicCatalog catalog) throws Exception {
    String documents = catalog.spec(TopicRole.DOCUMENTS).name();
    String goals = catalog.spec(TopicRole.GOALS).name();
    List<String> transcript;
    try (var in = PrometheusIT.class.getResourceAsStream("/demo/qmsum-documents.jsonl")) {
      transcript = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().limit(4).toList();
    }
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
      producer
          .send(new ProducerRecord<>(documents, bytes("m1"), bytes("not json")))
          .get(); // for dead-letters
      for (String line : transcript) {
        producer.send(new ProducerRecord<>(documents, bytes("m1"), bytes(line))).get();
      }
      Goal goal =
          new Goal(
              "g1",
              "Goal g1: compute 6*7 and tell the team.",
              List.of("calculator", "publish", "scripted__echo"),
              null,
              null,
              null,
              Map.of(),
              null);
      producer
          .send(new ProducerRecord<>(goals, bytes("g1"), GOALS.serializer().serialize(goals, goal)))
          .get();
    }
  }

  /**
   * A small real model (hashed n-grams on a few Banking77 intents) on specialist-models, then
   * events for it: one it is sure of and one it is not, which the specialist escalates (to openai,
   * which refuses it, then on to the offline engine).
   */
  private static void sendClassifications(KafkaCluster kafka, TopicCatalog catalog)
      throws Exception {
    List<LabeledText> data =
        LabeledData.classpath(LabeledData.BANKING77_TRAIN).stream()
            .filter(e -> e.label().startsWith("card_"))
            .toList();
    SpecialistModel model =
        ModelTrainer.train(
                "banking77",
                data,
                TrainingOptions.defaults().withKind(ModelKind.HASHED),
                step -> {})
            .record();
    Topic<SpecialistModel> models = catalog.topic(Topics.SPECIALIST_MODELS);
    Topic<ClassificationRequest> requests = catalog.topic(Topics.CLASSIFICATION_REQUESTS);
    Properties props = kafka.producerProps();
    props.put("max.request.size", 9 * 1024 * 1024);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      // Not a model: specialist-models feeds a global store, whose bad records are skipped (and
      // counted), not
      // dead-lettered. Before the model, on the topic's one partition: skipped by the time the
      // model serves.
      producer
          .send(new ProducerRecord<>(models.name(), bytes("banking77"), bytes("not json")))
          .get();
      producer
          .send(
              new ProducerRecord<>(
                  models.name(),
                  bytes("banking77"),
                  models.valueSerde().serializer().serialize(models.name(), model)))
          .get();
      for (String[] event :
          List.of(
              new String[] {"c1", "My new card has still not arrived, where is it?"},
              new String[] {"c2", "zzz qqq"})) {
        producer
            .send(
                new ProducerRecord<>(
                    requests.name(),
                    bytes(event[0]),
                    requests
                        .valueSerde()
                        .serializer()
                        .serialize(
                            requests.name(), new ClassificationRequest(event[0], event[1], null))))
            .get();
      }
    }
  }

  /** Approves the goal's held calls as a person would, once the controller asks for them. */
  private static void approveHeldCalls(KafkaCluster kafka, TopicCatalog catalog, String goalId)
      throws Exception {
    String events = catalog.spec(TopicRole.GOAL_EVENTS).name();
    String approvals = catalog.spec(TopicRole.APPROVALS).name();
    List<GoalEvent> requested = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            kafka.consumerProps(KafkaCluster.uniqueName("mon")),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(events));
      await()
          .atMost(Duration.ofSeconds(90))
          .until(
              () -> {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                  GoalEvent e = EVENTS.deserializer().deserialize(events, r.value());
                  if (e.goalId().equals(goalId) && e.type() == GoalEventType.APPROVAL_REQUESTED) {
                    requested.add(e);
                  }
                }
                return !requested.isEmpty();
              });
    }
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
      for (GoalEvent e : requested) {
        producer
            .send(
                new ProducerRecord<>(
                    approvals,
                    bytes(goalId),
                    APPROVALS
                        .serializer()
                        .serialize(
                            approvals,
                            new Approval(
                                goalId,
                                e.causationId(),
                                Approval.Decision.APPROVE,
                                "fine",
                                "monitoring-it",
                                null))))
            .get();
      }
    }
  }

  /**
   * Metric name to where it is read: dashboards (from their files) and rules (as the running
   * Prometheus loaded them).
   */
  private static Map<String, Set<String>> usedMetricNames(int port) throws Exception {
    Map<String, Set<String>> used = new LinkedHashMap<>(Monitoring.dashboardMetricNames());
    JsonNode groups = api(port, "/api/v1/rules").path("data").path("groups");
    Set<String> groupNames = new TreeSet<>();
    for (JsonNode group : groups) {
      groupNames.add(group.path("name").asText());
      for (JsonNode rule : group.path("rules")) {
        String where = "rule " + rule.path("name").asText();
        PromQlMetricNames.of(rule.path("query").asText())
            .forEach(n -> used.computeIfAbsent(n, k -> new LinkedHashSet<>()).add(where));
        if ("recording".equals(rule.path("type").asText())) {
          used.computeIfAbsent(rule.path("name").asText(), k -> new LinkedHashSet<>())
              .add("recorded by " + where);
        }
      }
    }
    assertThat(groupNames)
        .as("rule groups Prometheus loaded")
        .containsExactly("llmstreams.alerts", "llmstreams.recording");
    return used;
  }

  private static Set<String> withoutData(int port, Set<String> names) throws Exception {
    Set<String> missing = new TreeSet<>();
    for (String name : names) {
      JsonNode result =
          api(
                  port,
                  "/api/v1/query?query="
                      + URLEncoder.encode(
                          "count({__name__=\"" + name + "\"})", StandardCharsets.UTF_8))
              .path("data")
              .path("result");
      if (result.isEmpty()) {
        missing.add(name);
      }
    }
    return missing;
  }

  private static List<String> describe(Set<String> missing, Map<String, Set<String>> used) {
    return missing.stream().map(n -> n + " (read by " + used.get(n) + ")").toList();
  }

  private static void assertRulesHealthy(int port) throws Exception {
    for (JsonNode group : api(port, "/api/v1/rules").path("data").path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        assertThat(rule.path("health").asText())
            .as(rule.path("name").asText() + ": " + rule.path("lastError").asText())
            .isEqualTo("ok");
      }
    }
  }

  private static JsonNode api(int port, String path) throws Exception {
    HttpResponse<String> response = get(port, path);
    assertThat(response.statusCode()).as(path + ": " + response.body()).isEqualTo(200);
    return Json.tree(response.body());
  }

  private static HttpResponse<String> get(int port, String path)
      throws IOException, InterruptedException {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
