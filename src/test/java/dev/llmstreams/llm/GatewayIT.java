package dev.llmstreams.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmstreams.app.LlmStreamsApp;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.ChatMessage;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.ShadowReply;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.testkit.ChildJvm;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway end to end on a real broker against a scripted OpenAI-compatible server: every
 * request is answered exactly once on its reply topic (read_committed), a graceful restart repeats
 * no provider call, and a hard kill (SIGKILL of a separate JVM) repeats at most the calls that were
 * not yet committed, while the comparisons of a shadow candidate, on {@code llm-shadow-replies},
 * are never repeated.
 */
@WithKafka
class GatewayIT {
  private static final int CONCURRENCY = 8;
  private static final JsonSerde<LlmRequest> REQUESTS = JsonSerde.of(LlmRequest.class);
  private static final JsonSerde<LlmReply> REPLIES = JsonSerde.of(LlmReply.class);

  @TempDir Path dir;
  private ScriptedLlmServer server;
  private TopicCatalog catalog;
  private Map<String, String> settings;
  private KafkaCluster kafka;

  @BeforeEach
  void setUp(KafkaCluster kafka) throws Exception {
    this.kafka = kafka;
    server = ScriptedLlmServer.start();
    // Every call takes 250 ms and answers with the id it was asked about, so calls can be counted
    // per request; Anthropic's API (a shadow candidate's) answers the same.
    server.setDefault(
        request ->
            ScriptedLlmServer.Reply.json(
                    ScriptedLlmServer.ANTHROPIC_PATH.equals(request.path())
                        ? ScriptedLlmServer.anthropicText("answer to " + lastUserMessage(request))
                        : ScriptedLlmServer.openAiText("answer to " + lastUserMessage(request)))
                .withDelay(Duration.ofMillis(250)));
    TestDeployment deployment =
        TestDeployment.create(kafka, "gw", dir)
            .with(
                Map.of(
                    AppConfig.LLM_ROUTE_DEFAULT,
                    "openai",
                    AppConfig.provider("openai", "base.url"),
                    server.openAiBaseUrl().toString(),
                    AppConfig.provider("openai", "concurrency"),
                    Integer.toString(CONCURRENCY),
                    AppConfig.provider("openai", "timeout.ms"),
                    "10000"));
    catalog = deployment.catalog();
    settings = deployment.settings();
  }

  @AfterEach
  void tearDown() {
    server.close();
  }

  /** The last message's text: a string (OpenAI, or Anthropic's lone text block) or text blocks. */
  private static String lastUserMessage(ScriptedLlmServer.RecordedRequest request) {
    var messages = request.json().path("messages");
    var content = messages.get(messages.size() - 1).path("content");
    return content.isArray() ? content.get(0).path("text").asText() : content.asText();
  }

  private LlmStreamsApp startApp(Observability observability) throws Exception {
    LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability);
    app.start(List.of(new GatewayModule()));
    await().atMost(Duration.ofSeconds(60)).until(() -> app.health().ready());
    return app;
  }

  private void produce(String run, int n) throws Exception {
    String topic = catalog.spec(TopicRole.LLM_REQUESTS).name();
    String replyTo = catalog.spec(TopicRole.SUMMARIZER_LLM_REPLIES).name();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            kafka.producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < n; i++) {
        String id = run + "-" + i;
        LlmRequest request =
            new LlmRequest(
                id,
                replyTo,
                "summarizer.chunk",
                "key-" + (i % 5),
                null,
                null,
                List.of(ChatMessage.user(id)),
                List.of(),
                null,
                16,
                0.0,
                null,
                Map.of());
        producer.send(
            new ProducerRecord<>(
                topic,
                request.correlationId().getBytes(StandardCharsets.UTF_8),
                REQUESTS.serializer().serialize(topic, request)));
      }
    }
  }

  /** Reads committed replies until {@code done} says so; returns them all (duplicates included). */
  private List<LlmReply> readReplies(Function<List<LlmReply>, Boolean> done, Duration atMost) {
    return read(TopicRole.SUMMARIZER_LLM_REPLIES, REPLIES, done, atMost);
  }

  /**
   * Reads a topic from the start, read_committed, until {@code done} says so; returns every value
   * (duplicates included).
   */
  private <T> List<T> read(
      TopicRole role, JsonSerde<T> serde, Function<List<T>, Boolean> done, Duration atMost) {
    return read(role, serde, (seen, consumer) -> done.apply(seen), atMost);
  }

  private <T> List<T> read(
      TopicRole role,
      JsonSerde<T> serde,
      java.util.function.BiPredicate<List<T>, KafkaConsumer<?, ?>> done,
      Duration atMost) {
    String topic = catalog.spec(role).name();
    Properties props = kafka.consumerProps(KafkaCluster.uniqueName("replies"));
    // Closing the consumer closes its fetch session with one last fetch, which the broker holds for
    // fetch.max.wait.ms (500 ms by default) when nothing new has come; the polls below wait on
    // their own timeout whatever this is.
    props.put("fetch.max.wait.ms", 100);
    List<T> seen = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      // Assigned, not subscribed: no group to join, every partition read from the start.
      consumer.assign(
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList());
      await()
          .atMost(atMost)
          .until(
              () -> {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                  seen.add(serde.deserializer().deserialize(topic, r.value()));
                }
                return done.test(seen, consumer);
              });
    }
    return seen;
  }

  /** Every committed value of a topic, read until the end (its last stable offset). */
  private <T> List<T> readToEnd(TopicRole role, JsonSerde<T> serde) {
    Map<TopicPartition, Long> end = new java.util.HashMap<>();
    return read(
        role,
        serde,
        (seen, consumer) -> {
          if (end.isEmpty()) {
            end.putAll(consumer.endOffsets(consumer.assignment()));
          }
          return end.entrySet().stream()
              .allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
        },
        Duration.ofSeconds(30));
  }

  private List<LlmReply> readRecentlyStable() {
    List<LlmReply> seen = new ArrayList<>();
    int[] last = {-1};
    long[] stableSince = {System.nanoTime()};
    readReplies(
        r -> {
          if (r.size() != last[0]) {
            last[0] = r.size();
            stableSince[0] = System.nanoTime();
            return false;
          }
          if (System.nanoTime() - stableSince[0] > 3_000_000_000L) {
            seen.addAll(r);
            return true;
          }
          return false;
        },
        Duration.ofSeconds(60));
    return seen;
  }

  private static long distinct(List<LlmReply> replies) {
    return replies.stream().map(LlmReply::requestId).distinct().count();
  }

  /** The calls the primary provider (OpenAI's API) received. */
  private List<ScriptedLlmServer.RecordedRequest> primaryCalls() {
    return server.requests().stream()
        .filter(r -> ScriptedLlmServer.OPENAI_PATH.equals(r.path()))
        .toList();
  }

  private Map<String, Long> callsPerRequest() {
    return primaryCalls().stream()
        .collect(Collectors.groupingBy(GatewayIT::lastUserMessage, Collectors.counting()));
  }

  @Test
  @SuppressWarnings(
      "try") // the second app runs while the replies are read: it is used by being open
  void shouldAnswerEveryRequestExactlyOnceAndRepeatNoCallAcrossAGracefulRestart() throws Exception {
    int n = 60;
    try (Observability observability = new Observability()) {
      LlmStreamsApp first = startApp(observability);
      produce("graceful", n);
      readReplies(r -> distinct(r) >= 15, Duration.ofSeconds(60));
      first.close(); // graceful: calls in flight finish and their replies are committed first
    }
    try (Observability observability = new Observability();
        LlmStreamsApp second = startApp(observability)) {
      List<LlmReply> replies = readReplies(r -> distinct(r) >= n, Duration.ofSeconds(120));
      // a little longer, so a late duplicate would be seen
      List<LlmReply> all = readReplies(r -> r.size() >= replies.size(), Duration.ofSeconds(30));
      assertThat(all).hasSize(n);
      assertThat(distinct(all)).isEqualTo(n);
      assertThat(all)
          .allSatisfy(
              r -> {
                assertThat(r.error()).isNull();
                assertThat(r.content()).isEqualTo("answer to " + r.requestId());
              });
    }
    assertThat(server.callCount()).isEqualTo(n);
    assertThat(callsPerRequest().values()).allMatch(c -> c == 1);
  }

  @Test
  void shouldRepeatAtMostTheUncommittedCallsAfterAHardKill() throws Exception {
    int n = 120;
    // Half the requests also go to a shadow candidate: its comparisons must never repeat either.
    settings.put(AppConfig.shadow("default", "route"), "anthropic");
    settings.put(AppConfig.shadow("default", "sample"), "0.5");
    settings.put(AppConfig.provider("anthropic", "base.url"), server.anthropicBaseUrl().toString());
    settings.putAll(TestDeployment.SHORT_SESSIONS);
    Path config = ChildJvm.writeConfig(dir.resolve("gateway.properties"), settings);
    Process first = ChildJvm.runApp(dir, "first", config, "gateway");
    try {
      produce("kill", n);
      readReplies(r -> distinct(r) >= 30, Duration.ofSeconds(120));
      first.destroyForcibly(); // SIGKILL: no shutdown hook, no commit, no quiesce
      first.waitFor();
    } finally {
      first.destroyForcibly();
    }
    int callsBeforeRestart = primaryCalls().size();
    // What was committed before the kill: read until nothing new arrives for a while.
    long committedBeforeKill = distinct(readRecentlyStable());
    Process second = ChildJvm.runApp(dir, "second", config, "gateway");
    try {
      readReplies(r -> distinct(r) >= n, Duration.ofSeconds(180));
      List<LlmReply> all = readReplies(r -> r.size() >= n, Duration.ofSeconds(30));
      assertThat(all).hasSize(n);
      assertThat(distinct(all)).isEqualTo(n);
    } finally {
      second.destroy(); // graceful: shadow calls in flight finish and are compared first
      second.waitFor();
    }
    List<ShadowReply> compared =
        readToEnd(TopicRole.LLM_SHADOW_REPLIES, JsonSerde.of(ShadowReply.class));
    long sampled =
        java.util.stream.IntStream.range(0, n)
            .filter(i -> ShadowRoute.position("kill-" + i) < 0.5)
            .count();
    System.out.printf(
        "hard kill: %d requests sampled for the shadow, %d compared%n", sampled, compared.size());
    // At most once each (a shadow in flight at the kill after its primary's reply was committed is
    // lost), only sampled requests, and read_committed.
    assertThat(compared).isNotEmpty();
    assertThat(compared).extracting(ShadowReply::requestId).doesNotHaveDuplicates();
    assertThat(compared)
        .allSatisfy(
            r -> {
              assertThat(ShadowRoute.position(r.requestId())).isLessThan(0.5);
              assertThat(r.agreement()).isEqualTo(ShadowReply.Agreement.AGREE);
              assertThat(r.provider()).isEqualTo("anthropic");
            });
    long repeated = callsPerRequest().values().stream().filter(c -> c > 1).count();
    long inFlightAtKill = callsBeforeRestart - committedBeforeKill;
    System.out.printf(
        "hard kill: %d calls before the kill, %d replies committed before it, so %d in flight;"
            + " %d calls in all for %d requests, %d requests called twice%n",
        callsBeforeRestart,
        committedBeforeKill,
        inFlightAtKill,
        primaryCalls().size(),
        n,
        repeated);
    // Only calls in flight at the kill (started, reply not committed) may repeat; every committed
    // reply is final.
    assertThat(repeated).isLessThanOrEqualTo(inFlightAtKill);
    // In flight = started and not answered (at most CONCURRENCY) + answered within the last commit
    // interval.
    assertThat(inFlightAtKill).isLessThanOrEqualTo(3L * CONCURRENCY);
    assertThat(callsPerRequest().values()).allMatch(c -> c <= 2);
    assertThat(callsPerRequest()).hasSize(n);
  }
}
