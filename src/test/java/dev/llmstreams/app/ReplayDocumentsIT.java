package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.events.PromptRef;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.llm.GatewayModule;
import dev.llmstreams.llm.ScriptedLlmServer;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.runtime.prompts.Prompts;
import dev.llmstreams.runtime.text.Rouge;
import dev.llmstreams.summarizer.SummarizerModule;
import dev.llmstreams.testkit.CommittedReads;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.Kcat;
import dev.llmstreams.testkit.TestDeployment;
import dev.llmstreams.testkit.WithKafka;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code replay documents} on a real broker: documents recorded by a production summarizer (one
 * produced with kcat) are re-synthesized for one key under a candidate model and prompts folder;
 * the report's ROUGE equals what this test computes from the two syntheses it reads itself, the
 * shadow is on the run's topic with the candidate's prompt version, and production syntheses gets
 * nothing from the replay.
 */
@WithKafka
class ReplayDocumentsIT {
  private static final JsonSerde<Synthesis> SYNTHESES = JsonSerde.of(Synthesis.class);

  @TempDir Path dir;

  private static final String CANDIDATE_TEXT = "Alpha ships in April at twelve euros per unit.";
  private static final ScriptedLlmServer LLM =
      ScriptedLlmServer.start()
          .setDefault(
              q -> ScriptedLlmServer.Reply.json(ScriptedLlmServer.openAiText(CANDIDATE_TEXT)));

  @org.junit.jupiter.api.AfterAll
  static void stopLlm() {
    LLM.close();
  }

  @Test
  void shouldReSynthesizeOneKeyUnderTheCandidateIntoTheRunsTopicsOnly(KafkaCluster kafka)
      throws Exception {
    // Production runs on the offline engine; an OpenAI-compatible server is configured for the
    // second candidate to be routed to.
    TestDeployment deployment =
        TestDeployment.create(kafka, "rdoc", dir)
            .with(
                Map.of(
                    AppConfig.SUMMARIZER_SYNTHESIS_INTERVAL_MS,
                    "0",
                    AppConfig.provider("openai", "base.url"),
                    LLM.openAiBaseUrl().toString(),
                    AppConfig.provider("openai", "api.key"),
                    "sk-test-not-a-secret",
                    // Production's gateway shadows every call to Anthropic's API on the same
                    // server; a replay's gateway must not.
                    AppConfig.shadow("default", "route"),
                    "anthropic",
                    AppConfig.shadow("default", "sample"),
                    "1",
                    AppConfig.provider("anthropic", "base.url"),
                    LLM.anthropicBaseUrl().toString(),
                    AppConfig.provider("anthropic", "api.key"),
                    "sk-test-not-a-secret"));
    TopicCatalog catalog = deployment.catalog();
    Map<String, String> settings = deployment.settings();
    Path config = deployment.writeProperties(dir.resolve("app.properties"));
    String documents = catalog.spec(TopicRole.DOCUMENTS).name();
    String syntheses = catalog.spec(TopicRole.SYNTHESES).name();

    try (Observability observability = new Observability();
        LlmStreamsApp app = new LlmStreamsApp(AppConfig.of(settings), catalog, observability)) {
      app.start(List.of(new GatewayModule(), new SummarizerModule()));
      assertThat(app.awaitReady(Duration.ofSeconds(60))).isTrue();
      // One document with kcat, as any client would; the others with the Java client.
      Kcat.produce(
          kafka.bootstrapServers(),
          documents,
          List.of(
              Map.entry(
                  "alpha",
                  document(
                      "alpha-1",
                      "The alpha team agreed to ship the new billing service in March. The budget"
                          + " is twelve euros per unit. Support starts a week before launch."))));
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(
              kafka.producerProps(), new StringSerializer(), new StringSerializer())) {
        producer
            .send(
                new ProducerRecord<>(
                    documents,
                    "alpha",
                    document(
                        "alpha-2",
                        "Alpha's launch moved to April because the payment provider needs a"
                            + " security review. Marketing keeps the March announcement.")))
            .get();
        producer
            .send(
                new ProducerRecord<>(
                    documents,
                    "bravo",
                    document("bravo-1", "Bravo closed its office in Lyon and hired two people.")))
            .get();
      }
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                Map<String, Synthesis> s = latest(kafka, syntheses);
                return s.containsKey("alpha")
                    && s.get("alpha").documents() == 2
                    && s.containsKey("bravo");
              });
    }
    long productionRecords = count(kafka, syntheses);
    Synthesis original = latest(kafka, syntheses).get("alpha");

    Path prompts = Files.createDirectories(dir.resolve("candidate-prompts"));
    Files.writeString(
        prompts.resolve("summarizer.chunk.md"),
        "Summarize the document in two short sentences: decisions, dates and amounts only.\n");
    String candidateVersion =
        Prompts.load(prompts.toString()).get("summarizer.chunk").ref().version();
    Path refs = dir.resolve("refs.jsonl");
    String reference =
        "Alpha ships billing in April after a security review; twelve euros per unit.";
    Files.writeString(
        refs,
        Json.writer().writeValueAsString(Map.of("key", "alpha", "reference", reference)) + "\n");
    Path report = dir.resolve("replay.json");
    Path md = dir.resolve("replay.md");
    CliRun run =
        replay(
            config,
            "r1",
            "--model",
            "candidate-model",
            "--prompts",
            prompts.toString(),
            "--references",
            refs.toString(),
            "--json",
            report.toString(),
            "--markdown",
            md.toString());
    assertThat(run.exit()).as(run.err()).isZero();
    JsonNode r = Json.tree(Files.readString(report));

    // The shadow, read committed from the run's topic: alpha only, both documents, candidate's
    // prompt.
    String runSyntheses = deployment.prefix() + "replay.r1.syntheses";
    Map<String, Synthesis> shadows = latest(kafka, runSyntheses);
    // Daily windows by default: the all-time synthesis and that of the documents' day.
    String day = "alpha@2026-12-05T00:00:00Z/2026-12-06T00:00:00Z";
    assertThat(shadows.keySet()).containsExactlyInAnyOrder("alpha", day);
    Synthesis shadow = shadows.get("alpha");
    assertThat(shadow.documents()).isEqualTo(2);
    assertThat(shadow.prompts())
        .contains(new PromptRef("summarizer.chunk", candidateVersion))
        .doesNotContainAnyElementsOf(
            original.prompts().stream().filter(p -> p.id().equals("summarizer.chunk")).toList());
    assertThat(r.path("candidate").path("model").asText()).isEqualTo("offline/candidate-model");
    assertThat(r.path("topic").asText()).isEqualTo(runSyntheses);
    assertThat(r.path("application_id").asText())
        .isEqualTo(settings.get(AppConfig.APPLICATION_ID) + "-replay-r1");

    // The report's ROUGE is what Rouge says of the two syntheses this test read itself.
    JsonNode item = r.path("items").get(0);
    assertThat(r.path("items")).hasSize(2);
    assertThat(r.path("items").get(1).path("synthesis").asText()).isEqualTo(day);
    assertThat(r.path("items").get(1).path("complete").asBoolean()).isTrue();
    assertThat(r.path("totals").path("complete").asInt()).isEqualTo(2);
    assertThat(item.path("synthesis").asText()).isEqualTo("alpha");
    assertThat(item.path("complete").asBoolean()).isTrue();
    assertThat(item.path("original").path("text").asText()).isEqualTo(original.text());
    assertThat(item.path("shadow").path("text").asText()).isEqualTo(shadow.text());
    JsonNode vs = item.path("shadow_vs_original");
    assertThat(vs.path("rouge1_f1").asDouble())
        .isCloseTo(Rouge.n(shadow.text(), original.text(), 1).f1(), within(1e-12));
    assertThat(vs.path("rouge2_f1").asDouble())
        .isCloseTo(Rouge.n(shadow.text(), original.text(), 2).f1(), within(1e-12));
    assertThat(vs.path("rougeL_f1").asDouble())
        .isCloseTo(Rouge.l(shadow.text(), original.text()).f1(), within(1e-12));
    assertThat(item.path("shadow_vs_reference").path("rougeL_f1").asDouble())
        .isCloseTo(Rouge.l(shadow.text(), reference).f1(), within(1e-12));
    assertThat(item.path("original_vs_reference").path("rougeL_f1").asDouble())
        .isCloseTo(Rouge.l(original.text(), reference).f1(), within(1e-12));
    // The all-time synthesis counts every call of its key: one reply each on the run's replies.
    long replies =
        count(
            kafka,
            TopicCatalog.load()
                .withPrefix(deployment.prefix() + "replay.r1.")
                .spec(TopicRole.SUMMARIZER_LLM_REPLIES)
                .name());
    assertThat(replies).isPositive();
    assertThat(item.path("llm_calls").asLong()).isEqualTo(replies);
    assertThat(r.path("totals").path("llm_calls").asLong()).isEqualTo(replies);
    assertThat(r.path("totals").path("documents").asLong()).isEqualTo(2);
    assertThat(Files.readString(md))
        .contains("# Replay of documents")
        .contains("| alpha | 2 | yes |");

    // The replay wrote nothing to production; its documents are copies, same time and key.
    assertThat(count(kafka, syntheses)).isEqualTo(productionRecords);
    assertThat(count(kafka, documents)).isEqualTo(3);
    assertThat(count(kafka, deployment.prefix() + "replay.r1.documents")).isEqualTo(2);

    replayUnderAnotherProvider(kafka, config, deployment.prefix(), original);

    // A run is written once.
    CliRun again = replay(config, "r1");
    assertThat(again.exit()).isNotZero();
    assertThat(again.err()).contains("run r1 was written already");
  }

  /**
   * {@code --route openai --model scripted-candidate}: the candidate's words are the shadow's, its
   * model is the one asked for, and the report scores them as this test does.
   */
  private void replayUnderAnotherProvider(
      KafkaCluster kafka, Path config, String prefix, Synthesis original) throws Exception {
    long anthropicBefore = calls(ScriptedLlmServer.ANTHROPIC_PATH);
    assertThat(anthropicBefore).as("production's shadow calls").isPositive();
    Path report = dir.resolve("replay-r2.json");
    CliRun run =
        replay(
            config,
            "r2",
            "--route",
            "openai",
            "--model",
            "scripted-candidate",
            "--json",
            report.toString());
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(calls(ScriptedLlmServer.ANTHROPIC_PATH)).isEqualTo(anthropicBefore);
    assertThat(LLM.requests().stream().filter(q -> q.path().equals(ScriptedLlmServer.OPENAI_PATH)))
        .isNotEmpty()
        .allSatisfy(
            q -> assertThat(q.json().path("model").asText()).isEqualTo("scripted-candidate"));
    Synthesis shadow = latest(kafka, prefix + "replay.r2.syntheses").get("alpha");
    assertThat(shadow.text()).contains(CANDIDATE_TEXT);
    assertThat(shadow.models()).allSatisfy(m -> assertThat(m).startsWith("openai/"));
    JsonNode r = Json.tree(Files.readString(report));
    assertThat(r.path("candidate").path("route").asText()).isEqualTo("openai");
    assertThat(r.path("candidate").path("model").asText()).isEqualTo("openai/scripted-candidate");
    JsonNode item = r.path("items").get(0);
    assertThat(item.path("synthesis").asText()).isEqualTo("alpha");
    assertThat(item.path("shadow_vs_original").path("rougeL_f1").asDouble())
        .isCloseTo(Rouge.l(shadow.text(), original.text()).f1(), within(1e-12))
        .isLessThan(1.0);
    assertThat(item.path("shadow_vs_original").path("rouge2_f1").asDouble())
        .isCloseTo(Rouge.n(shadow.text(), original.text(), 2).f1(), within(1e-12));
    assertThat(item.has("shadow_vs_reference")).isFalse(); // no --references this time
    long openAi = calls(ScriptedLlmServer.OPENAI_PATH);
    assertThat(r.path("totals").path("llm_calls").asLong()).isEqualTo(openAi);
    assertThat(r.path("totals").path("input_tokens").asLong())
        .isEqualTo(openAi * ScriptedLlmServer.INPUT_TOKENS);

    // The same slice under the same candidate again: every question was asked before, so the
    // provider gets no call and nothing is billed, and the shadow is the same.
    Path again = dir.resolve("replay-r3.json");
    CliRun third =
        replay(
            config,
            "r3",
            "--route",
            "openai",
            "--model",
            "scripted-candidate",
            "--json",
            again.toString());
    assertThat(third.exit()).as(third.err()).isZero();
    assertThat(calls(ScriptedLlmServer.OPENAI_PATH)).as("provider calls").isEqualTo(openAi);
    assertThat(latest(kafka, prefix + "replay.r3.syntheses").get("alpha").text())
        .isEqualTo(shadow.text());
    JsonNode r3 = Json.tree(Files.readString(again));
    assertThat(r3.path("totals").path("llm_calls").asLong()).isEqualTo(openAi);
    assertThat(r3.path("totals").path("input_tokens").asLong()).isZero();
    assertThat(r3.path("totals").path("cost_usd").asDouble()).isZero();
  }

  /**
   * {@code replay documents --keys alpha --run RUN --timeout PT60S} and the candidate's options.
   */
  private static CliRun replay(Path config, String run, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--config",
                config.toString(),
                "replay",
                "documents",
                "--keys",
                "alpha",
                "--run",
                run,
                "--timeout",
                "PT60S"));
    args.addAll(List.of(more));
    return CliRun.of(args.toArray(String[]::new));
  }

  /** Requests the scripted server got on {@code path}. */
  private static long calls(String path) {
    return LLM.requests().stream().filter(q -> q.path().equals(path)).count();
  }

  private static String document(String id, String text) throws Exception {
    return Json.writer()
        .writeValueAsString(Map.of("docId", id, "text", text, "timestamp", "2026-12-05T09:00:00Z"));
  }

  /** The latest synthesis per record key, read committed. */
  private static Map<String, Synthesis> latest(KafkaCluster kafka, String topic) {
    Map<String, Synthesis> out = new LinkedHashMap<>();
    read(
        kafka,
        topic,
        r -> {
          Synthesis s = SYNTHESES.deserializer().deserialize(topic, r.value());
          out.put(s.recordKey(), s);
        });
    return out;
  }

  private static long count(KafkaCluster kafka, String topic) {
    long[] n = {0};
    read(kafka, topic, r -> n[0]++);
    return n[0];
  }

  private static void read(
      KafkaCluster kafka,
      String topic,
      java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
    CommittedReads.each(
        kafka,
        topic,
        r -> {
          if (r.value() != null) {
            each.accept(r);
          }
        });
  }
}
