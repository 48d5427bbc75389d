package dev.llmstreams.summarizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.PromptRef;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.events.Usage;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The report of {@code replay documents}, on values computed by hand. */
class SynthesisReplayTest {
  private static final double E = 1e-9;

  private static Synthesis synthesis(String key, String text, long documents, String model) {
    return new Synthesis(
        key,
        null,
        text,
        1,
        documents,
        documents,
        List.of(),
        Synthesis.sourceDigest(List.of("d1")),
        12,
        model,
        Instant.parse("2026-12-05T10:00:00Z"),
        List.of(new PromptRef("summarizer.chunk", "sha256:" + "0".repeat(12))),
        List.of(model));
  }

  private static LlmReply reply(
      String requestId, String key, long in, long out, double cost, long ms) {
    return new LlmReply(
        requestId,
        key,
        "summarizer.chunk",
        "x",
        List.of(),
        "stop",
        new Usage(in, out),
        cost,
        ms,
        "offline",
        "m",
        false,
        null);
  }

  @Test
  void shouldScoreEachShadowAgainstTheOriginalAndTheReferenceAndAddUpTheCalls() {
    List<LlmReply> replies =
        List.of(
            reply("a/d1/0", "a", 10, 5, 0.001, 100),
            reply("a/synthesis/3", "a", 20, 7, 0.002, 300),
            reply("a@1000/d1/0", "a", 99, 99, 9, 999),
            reply("b/d3/0", "b", 4, 2, 0, 50));
    Map<String, SynthesisReplay.Calls> calls = SynthesisReplay.callsByTree(replies);
    assertThat(calls.keySet()).containsExactly("a", "a@1000", "b");
    assertThat(SynthesisReplay.callsByKey(replies).get("a").calls()).isEqualTo(3);
    assertThat(SynthesisReplay.total(replies).calls()).isEqualTo(4);
    assertThat(calls.get("a"))
        .isEqualTo(new SynthesisReplay.Calls(2, 0, 30, 12, 0.001 + 0.002, 400, 300));

    SynthesisReplay.Item a =
        new SynthesisReplay.Item(
            "a",
            2,
            synthesis("a", "The cat ran.", 5, "openai/old"),
            synthesis("a", "the cat sat", 2, "offline/new"),
            "the cat sat on the mat",
            calls.get("a"));
    SynthesisReplay.Item b =
        new SynthesisReplay.Item(
            "b", 2, null, synthesis("b", "dogs", 1, "offline/new"), null, calls.get("b"));
    assertThat(a.complete()).isTrue();
    assertThat(b.complete()).isFalse(); // one of its two documents covered

    // [the cat sat] vs [the cat ran]: 2 of 3 words, 1 of 2 bigrams, LCS 2.
    assertThat(a.vsOriginal().rouge1()).isCloseTo(2.0 / 3, within(E));
    assertThat(a.vsOriginal().rouge2()).isCloseTo(0.5, within(E));
    assertThat(a.vsOriginal().rougeL()).isCloseTo(2.0 / 3, within(E));
    // [the cat sat] vs [the cat sat on the mat]: p 1, r 1/2; bigrams p 1, r 2/5.
    assertThat(a.shadowVsReference().rouge1()).isCloseTo(2.0 / 3, within(E));
    assertThat(a.shadowVsReference().rouge2()).isCloseTo(0.8 / 1.4, within(E));
    // [the cat ran] vs the reference: p 2/3, r 1/3.
    assertThat(a.originalVsReference().rouge1()).isCloseTo(4.0 / 9, within(E));
    assertThat(b.vsOriginal()).isNull();

    SynthesisReplay.Report report =
        new SynthesisReplay.Report(
            Map.of("model", "offline/new"),
            3,
            1234,
            List.of(a, b),
            calls.get("a").plus(calls.get("b")));
    JsonNode totals = report.totals();
    assertThat(totals.path("documents").asLong()).isEqualTo(3);
    assertThat(totals.path("syntheses").asLong()).isEqualTo(2);
    assertThat(totals.path("complete").asLong()).isEqualTo(1);
    assertThat(totals.path("with_original").asLong()).isEqualTo(1);
    assertThat(totals.path("with_reference").asLong()).isEqualTo(1);
    assertThat(totals.path("shadow_vs_original").path("rouge2_f1").asDouble())
        .isCloseTo(0.5, within(E));
    assertThat(totals.path("original_vs_reference").path("rouge1_f1").asDouble())
        .isCloseTo(4.0 / 9, within(E));
    assertThat(totals.path("llm_calls").asLong()).isEqualTo(3);
    assertThat(totals.path("input_tokens").asLong()).isEqualTo(34);
    assertThat(totals.path("output_tokens").asLong()).isEqualTo(14);
    assertThat(totals.path("cost_usd").asDouble()).isCloseTo(0.003, within(E));
    assertThat(totals.path("llm_latency_ms").asLong()).isEqualTo(450);
    assertThat(totals.path("llm_max_latency_ms").asLong()).isEqualTo(300);
    assertThat(totals.path("wall_ms").asLong()).isEqualTo(1234);

    JsonNode items = report.toJson().path("items");
    assertThat(items.get(0).path("shadow").path("model").asText()).isEqualTo("offline/new");
    assertThat(items.get(0).path("original").path("documents").asLong()).isEqualTo(5);
    assertThat(items.get(0).path("shadow").path("prompts").get(0).asText())
        .isEqualTo("summarizer.chunk@sha256:000000000000");
    assertThat(items.get(1).has("original")).isFalse();
    assertThat(items.get(1).path("complete").asBoolean()).isFalse();

    String md = report.toMarkdown();
    assertThat(md).contains("| llm_calls | 3 |");
    assertThat(md).contains("| a | 2 | yes | 0.667 / 0.500 / 0.667 | 0.667 / 0.444 | 2 | 30/12 |");
    assertThat(md).contains("| b | 2 | no | no original |  | 1 | 4/2 | 0.000000 | 50 |");
  }

  @Test
  void shouldNameTheTreesADocumentMustBeCoveredBy() {
    Map<String, Instant> docs =
        Map.of(
            "d1", Instant.ofEpochMilli(1_500),
            "d2", Instant.ofEpochMilli(2_100),
            "d3", Instant.ofEpochMilli(2_999));
    assertThat(SynthesisReplay.trees("k", docs, 0))
        .isEqualTo(Map.of("k", java.util.Set.of("d1", "d2", "d3")));
    assertThat(SynthesisReplay.trees("k", docs, 1_000))
        .isEqualTo(
            Map.of(
                "k", java.util.Set.of("d1", "d2", "d3"),
                "k@1000", java.util.Set.of("d1"),
                "k@2000", java.util.Set.of("d2", "d3")));
  }
}
