package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.app.AclPlan.Role;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.controller.ControllerModule;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalEventType;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.GoalStatus;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.ScriptedLlmServer;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.specialist.SpecialistModule;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelKind;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.testkit.Kcat;
import dev.llmstreams.testkit.SecuredKafkaCluster;
import dev.llmstreams.tools.ToolsModule;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every pattern on a secured cluster: TLS and SCRAM-SHA-512 on the client listener, Kafka's {@code
 * StandardAuthorizer} denying whatever no ACL allows. The ACLs are exactly those that {@code acls
 * --apply} creates from the configuration, and each role signs in as its own principal: the app
 * runs every pattern under {@code app}, the operator creates the topics, a producer submits work
 * (with kcat and with the Java client), an approver releases a held tool call, a trainer publishes
 * the model, a consumer reads the outputs read_committed. What a role was not granted is refused at
 * the broker, and the refused records never reach the topics or change an output.
 */
class SecuredClusterIT {
  private static final JsonSerde<Goal> GOALS = JsonSerde.of(Goal.class);
  private static final JsonSerde<GoalEvent> EVENTS = JsonSerde.of(GoalEvent.class);
  private static final JsonSerde<GoalResult> RESULTS = JsonSerde.of(GoalResult.class);
  private static final JsonSerde<SpecialistModel> MODELS = JsonSerde.of(SpecialistModel.class);
  private static final JsonSerde<dev.llmstreams.events.Classification> CLASSIFICATIONS =
      JsonSerde.of(dev.llmstreams.events.Classification.class);
  private static final JsonSerde<Synthesis> SYNTHESES = JsonSerde.of(Synthesis.class);
  private static final String ANSWER = "Published; the team has the total.";
  private static final String PREFIX = "sec.";
  private static final String APP_ID = PREFIX + "app";

  @TempDir static Path dir;
  private static SecuredKafkaCluster kafka;
  private static final Map<Role, String> USERS = new EnumMap<>(Role.class);

  @BeforeAll
  static void startCluster() throws Exception {
    Map<String, String> passwords = new HashMap<>();
    for (Role role : Role.values()) {
      String user = "sec-" + role.id();
      passwords.put(user, user + "-password");
      USERS.put(role, user);
    }
    kafka = SecuredKafkaCluster.start(dir, passwords);
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (kafka != null) {
      kafka.close();
    }
  }

  /** A config file for the CLI that signs in as {@code user} (the super user: its PLAIN login). */
  private static Path configFile(String name, Map<String, ?> client, Map<String, String> more)
      throws Exception {
    Properties p = new Properties();
    p.put(AppConfig.KAFKA_BOOTSTRAP, kafka.bootstrapServers());
    p.put(AppConfig.TOPICS_PREFIX, PREFIX);
    p.put(AppConfig.APPLICATION_ID, APP_ID);
    client.forEach(
        (k, v) -> {
          if (!k.equals("bootstrap.servers")) {
            p.put(AppConfig.CLIENT_PREFIX + k, String.valueOf(v));
          }
        });
    p.putAll(more);
    Path file = dir.resolve(name + ".properties");
    try (var out = Files.newBufferedWriter(file)) {
      p.store(out, null);
    }
    return file;
  }

  private static String principal(Role role) {
    return "User:" + USERS.get(role);
  }

  @Test
  void shouldRunEveryPatternUnderTheAclsThatAclsPrintsAndRefuseEveryoneElse() throws Exception {
    String news = PREFIX + "team-news";
    kafka.admin().createTopics(List.of(new NewTopic(news, 1, (short) 1))).all().get();
    Map<String, String> appSettings =
        Map.of(AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS, news, AppConfig.MCP_SERVER_ENABLED, "false");

    // 1. The super user runs the kafka-acls.sh commands `acls` prints (through kafka-acls.sh's own
    // AclCommand); then the cluster holds exactly the plan's ACLs, and no others.
    Path adminConfig = configFile("admin", kafka.adminProps(), appSettings);
    List<String> args = new ArrayList<>(List.of("--config", adminConfig.toString(), "acls"));
    for (Role role : Role.values()) {
      args.add("--principal");
      args.add(role.id() + "=" + principal(role));
    }
    String printed = stdoutOf(args);
    Path adminClient = dir.resolve("admin-client.properties");
    Properties adminClientProps = new Properties();
    kafka.adminProps().forEach((k, v) -> adminClientProps.put(k, String.valueOf(v)));
    try (var out = Files.newBufferedWriter(adminClient)) {
      adminClientProps.store(out, null);
    }
    List<String> commands = printed.lines().filter(l -> l.startsWith("kafka-acls.sh ")).toList();
    for (String command : commands) {
      kafkaAcls(
          command
              .substring(0, command.indexOf("  #"))
              .replace("--command-config admin.properties", "--command-config " + adminClient));
    }
    TopicCatalog catalog = TopicCatalog.load().withPrefix(PREFIX);
    Map<String, String> probe = new HashMap<>(appSettings);
    probe.put(AppConfig.KAFKA_BOOTSTRAP, kafka.bootstrapServers());
    probe.put(AppConfig.TOPICS_PREFIX, PREFIX);
    probe.put(AppConfig.APPLICATION_ID, APP_ID);
    Map<Role, String> principals = new EnumMap<>(Role.class);
    USERS.keySet().forEach(r -> principals.put(r, principal(r)));
    List<AclBinding> planned =
        AclPlan.of(catalog, AppConfig.of(probe), principals).bindings(EnumSet.allOf(Role.class));
    assertThat(Set.copyOf(kafka.admin().describeAcls(AclBindingFilter.ANY).values().get()))
        .as("the cluster's ACLs after the printed commands")
        .isEqualTo(Set.copyOf(planned));
    // --apply finds them all there and creates nothing.
    args.add("--apply");
    assertThat(stdoutOf(args)).contains(planned.size() + " ACLs").contains(": 0 created");
    assertThat(kafka.admin().describeAcls(AclBindingFilter.ANY).values().get())
        .hasSize(planned.size());

    // 2. The operator creates the catalog's topics under its grants.
    CliRun topics =
        CliRun.of(
            "--config",
            configFile("operator", kafka.clientProps(USERS.get(Role.OPERATOR)), Map.of())
                .toString(),
            "topics",
            "apply");
    assertThat(topics.exit()).as(topics.err()).isZero();
    assertThat(kafka.admin().listTopics().names().get()).containsAll(catalog.names());

    // 3. The app runs every pattern as its own principal.
    try (ScriptedLlmServer llm = ScriptedLlmServer.start()) {
      llm.setDefault(request -> ScriptedLlmServer.Reply.json(script(request.json(), news)));
      Map<String, String> settings = new HashMap<>(probe);
      kafka
          .clientProps(USERS.get(Role.APP))
          .forEach(
              (k, v) -> {
                if (!k.equals("bootstrap.servers")) {
                  settings.put(AppConfig.CLIENT_PREFIX + k, String.valueOf(v));
                }
              });
      settings.put(AppConfig.STATE_DIR, dir.resolve("state").toString());
      settings.put(AppConfig.HTTP_PORT, "0");
      settings.put(AppConfig.route("controller"), "openai");
      settings.put(AppConfig.provider("openai", "base.url"), llm.openAiBaseUrl().toString());
      settings.put(AppConfig.provider("openai", "api.key"), "sk-test-not-a-secret");
      settings.put(AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS, "0");
      settings.put(AppConfig.CONTROLLER_TICK_MS, "100");
      try (Observability observability = new Observability();
          LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability)) {
        SpecialistModule specialist = new SpecialistModule();
        app.start(
            List.of(
                new GatewayModule(),
                new ControllerModule(),
                new ToolsModule(),
                new SummarizerModule(),
                specialist));
        await().atMost(Duration.ofSeconds(90)).until(() -> app.health().ready());

        goalWithAHeldCall(catalog, news);
        forgedResults(catalog);
        modelSwap(catalog, specialist);
        documents(catalog);
      }
    }
  }

  /**
   * A goal produced with kcat waits for approval; the producer's own approval is refused at the
   * broker (Java client and kcat alike) and the call stays held; the approver's releases it.
   */
  private void goalWithAHeldCall(TopicCatalog catalog, String news) throws Exception {
    String goals = catalog.spec(TopicRole.GOALS).name();
    String approvals = catalog.spec(TopicRole.APPROVALS).name();
    Goal goal =
        new Goal(
            "g1",
            "Tell the team the total is 84.",
            List.of("publish"),
            null,
            null,
            null,
            Map.of(),
            null);
    Kcat.produce(
        kafka.bootstrapServers(),
        goals,
        List.of(Map.entry("g1", json(goal))),
        Map.of(),
        kafka.kcatSettings(USERS.get(Role.PRODUCER)));

    GoalEvent held =
        awaitRecords(
                Role.APPROVER,
                catalog.spec(TopicRole.GOAL_EVENTS).name(),
                r -> EVENTS.deserializer().deserialize("", r.value()),
                e -> e.goalId().equals("g1") && e.type() == GoalEventType.APPROVAL_REQUESTED)
            .get(0);
    String callId = held.causationId();
    String forged =
        "{\"goalId\":\"g1\",\"callId\":\""
            + callId
            + "\",\"decision\":\"approve\",\"by\":\"FORGED\"}";
    assertRefused(Role.PRODUCER, approvals, "g1", forged);
    assertThatThrownBy(
            () ->
                Kcat.produce(
                    kafka.bootstrapServers(),
                    approvals,
                    List.of(Map.entry("g1", forged)),
                    Map.of(),
                    kafka.kcatSettings(USERS.get(Role.PRODUCER))))
        .hasMessageContaining("uthoriz");
    // Still held: the refused approvals released nothing.
    assertThat(records(Role.APP, approvals)).isEmpty();

    String approval =
        "{\"goalId\":\"g1\",\"callId\":\"" + callId + "\",\"decision\":\"approve\",\"by\":\"amy\"}";
    produce(Role.APPROVER, approvals, "g1", approval);
    GoalResult result =
        awaitRecords(
                Role.CONSUMER,
                catalog.spec(TopicRole.GOAL_RESULTS).name(),
                r -> RESULTS.deserializer().deserialize("", r.value()),
                r -> r.goalId().equals("g1"))
            .get(0);
    assertThat(result.status()).isEqualTo(GoalStatus.SUCCEEDED);
    assertThat(result.answer()).isEqualTo(ANSWER);
    assertThat(records(null, approvals))
        .extracting(ConsumerRecord::value)
        .containsExactly(approval);
    assertThat(records(null, news)).hasSize(1);
  }

  /** Nobody but the app writes the LLM's replies or the tools' results. */
  private void forgedResults(TopicCatalog catalog) throws Exception {
    String replies = catalog.spec(TopicRole.CONTROLLER_LLM_REPLIES).name();
    String toolResults = catalog.spec(TopicRole.TOOL_RESULTS).name();
    assertRefused(
        Role.PRODUCER,
        replies,
        "g2",
        "{\"requestId\":\"g2/0\",\"correlationId\":\"g2\",\"purpose\":\"controller\",\"content\":\"FORGED\","
            + "\"costUsd\":0,\"latencyMs\":1,\"provider\":\"x\",\"model\":\"x\"}");
    assertRefused(
        Role.APPROVER,
        toolResults,
        "g1",
        "{\"callId\":\"g1/0/0\",\"goalId\":\"g1\",\"tool\":\"publish\",\"ok\":true,\"result\":\"FORGED\","
            + "\"durationMs\":1}");
    assertRefused(
        Role.CONSUMER,
        catalog.spec(TopicRole.GOALS).name(),
        "g3",
        "{\"goalId\":\"g3\",\"goal\":\"FORGED\"}");
    for (String topic : List.of(replies, toolResults, catalog.spec(TopicRole.GOALS).name())) {
      assertThat(records(null, topic))
          .extracting(ConsumerRecord::value)
          .as(topic)
          .noneMatch(v -> v.contains("FORGED"));
    }
  }

  /**
   * The trainer's model serves; a labeller's (or anyone's) model is refused, and events keep being
   * labelled by the trainer's.
   */
  private void modelSwap(TopicCatalog catalog, SpecialistModule specialist) throws Exception {
    String models = catalog.spec(TopicRole.SPECIALIST_MODELS).name();
    String requests = catalog.spec(TopicRole.CLASSIFICATION_REQUESTS).name();
    String classifications = catalog.spec(TopicRole.CLASSIFICATIONS).name();
    List<LabeledText> data =
        LabeledData.classpath(LabeledData.BANKING77_TRAIN).stream()
            .filter(e -> e.label().startsWith("card_"))
            .toList();
    SpecialistModel model =
        ModelTrainer.train(
                "banking77", data, TrainingOptions.defaults().withKind(ModelKind.HASHED), s -> {})
            .record();
    produce(Role.TRAINER, models, "banking77", json(model));
    produce(
        Role.PRODUCER,
        requests,
        "c1",
        json(new ClassificationRequest("c1", "My new card has still not arrived", null)));
    awaitRecords(
        Role.CONSUMER,
        classifications,
        r -> CLASSIFICATIONS.deserializer().deserialize("", r.value()),
        c -> c.eventId().equals("c1"));
    assertThat(specialist.currentModel().get().version()).isEqualTo(model.version());

    String forgedModel = json(model).replace(model.version(), "FORGED-" + model.version());
    assertRefused(Role.LABELLER, models, "banking77", forgedModel);
    assertRefused(Role.PRODUCER, models, "banking77", forgedModel);
    produce(
        Role.PRODUCER,
        requests,
        "c2",
        json(new ClassificationRequest("c2", "I lost my card yesterday", null)));
    awaitRecords(
        Role.CONSUMER,
        classifications,
        r -> CLASSIFICATIONS.deserializer().deserialize("", r.value()),
        c -> c.eventId().equals("c2"));
    // Still the trainer's model: events after the refused swap are labelled by it (or escalated
    // by it when it is unsure).
    assertThat(specialist.currentModel().get().version()).isEqualTo(model.version());
    assertThat(records(null, models))
        .extracting(r -> MODELS.deserializer().deserialize("", bytes(r.value())).version())
        .containsExactly(model.version());
  }

  /** The summarizer under the app's grants: a document from kcat becomes a synthesis. */
  private void documents(TopicCatalog catalog) throws Exception {
    Kcat.produce(
        kafka.bootstrapServers(),
        catalog.spec(TopicRole.DOCUMENTS).name(),
        List.of(
            Map.entry(
                "acme",
                "{\"docId\":\"d1\",\"timestamp\":\"2026-12-05T10:00:00Z\",\"text\":\"The release"
                    + " ships on Monday. The team tested it on three clusters.\"}")),
        Map.of(),
        kafka.kcatSettings(USERS.get(Role.PRODUCER)));
    Synthesis synthesis =
        awaitRecords(
                Role.CONSUMER,
                catalog.spec(TopicRole.SYNTHESES).name(),
                r -> SYNTHESES.deserializer().deserialize("", r.value()),
                s -> s.key().equals("acme"))
            .get(0);
    assertThat(synthesis.documents()).isGreaterThanOrEqualTo(1);
  }

  /** What the CLI printed on standard output; fails unless it exits 0. */
  private static String stdoutOf(List<String> args) {
    java.io.PrintStream previous = System.out;
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    CliRun run;
    try {
      System.setOut(new java.io.PrintStream(captured, true, StandardCharsets.UTF_8));
      run = CliRun.of(args.toArray(String[]::new));
    } finally {
      System.setOut(previous);
    }
    assertThat(run.exit()).as(run.err()).isZero();
    return captured.toString(StandardCharsets.UTF_8);
  }

  /**
   * One kafka-acls.sh command line, run by kafka-acls.sh's own class; its exit (on a bad option or
   * a failure) becomes an exception instead of ending the JVM.
   */
  private static void kafkaAcls(String commandLine) {
    List<String> words = List.of(commandLine.trim().split("\\s+"));
    assertThat(words.get(0)).isEqualTo("kafka-acls.sh");
    org.apache.kafka.common.utils.internals.Exit.setExitProcedure(
        (status, message) -> {
          throw new AssertionError(
              "kafka-acls.sh exited with " + status + " (" + message + "): " + commandLine);
        });
    try {
      org.apache.kafka.tools.AclCommand.main(words.subList(1, words.size()).toArray(String[]::new));
    } finally {
      org.apache.kafka.common.utils.internals.Exit.resetExitProcedure();
    }
  }

  /** Turn 1 publishes (held for approval), turn 2 answers. */
  private static JsonNode script(JsonNode request, String news) {
    if (ScriptedLlmServer.assistantTurns(request) > 0) {
      return ScriptedLlmServer.openAiText(ANSWER);
    }
    String goalId = ScriptedLlmServer.goalIdOf(request);
    return ScriptedLlmServer.openAiToolCalls(
        new ToolCallRequest(
            "call_p",
            "publish",
            Json.tree(
                "{\"topic\":\""
                    + news
                    + "\",\"key\":\""
                    + goalId
                    + "\",\"record\":{\"total\":\"84\"}}")));
  }

  private static String json(Object value) throws Exception {
    return Json.writer().writeValueAsString(value);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static KafkaProducer<byte[], byte[]> producer(Role role) {
    Map<String, Object> props = new HashMap<>(kafka.clientProps(USERS.get(role)));
    props.put("max.request.size", 9 * 1024 * 1024);
    props.put("max.block.ms", 20_000);
    props.put("delivery.timeout.ms", 60_000);
    return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static void produce(Role role, String topic, String key, String value) throws Exception {
    try (KafkaProducer<byte[], byte[]> producer = producer(role)) {
      producer.send(new ProducerRecord<>(topic, bytes(key), bytes(value))).get();
    }
  }

  /** {@code role} cannot write {@code topic}: the broker refuses the record. */
  private static void assertRefused(Role role, String topic, String key, String value) {
    assertThatThrownBy(() -> produce(role, topic, key, value))
        .as(role.id() + " writing " + topic)
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(TopicAuthorizationException.class);
  }

  /**
   * Every committed record of {@code topic}, read by {@code role} (null: the super user) without a
   * group.
   */
  private static List<ConsumerRecord<String, String>> records(Role role, String topic) {
    Map<String, Object> props =
        new HashMap<>(role == null ? kafka.adminProps() : kafka.clientProps(USERS.get(role)));
    props.put("isolation.level", "read_committed");
    props.put("max.partition.fetch.bytes", 16 * 1024 * 1024);
    // Closing the consumer closes its fetch session with one last fetch, which the broker holds for
    // up to fetch.max.wait.ms (500 ms by default) when nothing new comes. The read below stops at
    // the end offsets taken when it starts, which are all there to fetch, so a short wait changes
    // nothing that is read (as in CommittedReads).
    props.put("fetch.max.wait.ms", 10);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      List<ConsumerRecord<String, String>> out = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("could not read " + topic + " to its end");
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          out.add(
              new ConsumerRecord<>(
                  r.topic(),
                  r.partition(),
                  r.offset(),
                  r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8),
                  new String(r.value(), StandardCharsets.UTF_8)));
        }
      }
      return out;
    }
  }

  /**
   * Reads {@code topic} as {@code role} in a consumer group of its own (named as the role's grant
   * allows) until a record matches.
   */
  private static <T> List<T> awaitRecords(
      Role role,
      String topic,
      java.util.function.Function<ConsumerRecord<byte[], byte[]>, T> parse,
      java.util.function.Predicate<T> wanted) {
    Map<String, Object> props = new HashMap<>(kafka.clientProps(USERS.get(role)));
    props.put("group.id", APP_ID + "-" + role.id() + "-" + System.nanoTime());
    props.put("isolation.level", "read_committed");
    props.put("auto.offset.reset", "earliest");
    props.put("enable.auto.commit", "false");
    // As above: no half-second wait on close; the polls below wait on their own timeout.
    props.put("fetch.max.wait.ms", 100);
    List<T> found = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      await()
          .atMost(Duration.ofSeconds(120))
          .until(
              () -> {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                  T value = parse.apply(r);
                  if (wanted.test(value) && seen.add(r.partition() + "/" + r.offset())) {
                    found.add(value);
                  }
                }
                return !found.isEmpty();
              });
    }
    return found.stream().collect(Collectors.toList());
  }
}
