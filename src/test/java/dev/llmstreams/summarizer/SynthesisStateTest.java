package dev.llmstreams.summarizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.events.JsonSerde;
import dev.llmstreams.observability.tracing.SpanRef;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SynthesisStateTest {
  private final JsonSerde<SynthesisState> serde = JsonSerde.of(SynthesisState.class);

  @Test
  void shouldReadStateWrittenBeforeTheSynthesisRateLimitExisted() {
    SynthesisState current = SynthesisState.empty(new MergeTree("k", 4, 100)).withChunk("d1", 12);
    String json = new String(serde.serializer().serialize("t", current), StandardCharsets.UTF_8);
    assertThat(json).contains("\"synthesisAskedAtMs\":0");
    String older = json.replace(",\"synthesisAskedAtMs\":0", "");
    assertThat(older).doesNotContain("synthesisAskedAtMs");

    SynthesisState read =
        serde.deserializer().deserialize("t", older.getBytes(StandardCharsets.UTF_8));
    assertThat(read.synthesisAskedAtMs()).isZero();
    assertThat(read.docIds()).containsExactly("d1");
    assertThat(read.chunkInputTokens()).isEqualTo(12);
  }

  @Test
  void shouldReadStateWrittenBeforeWindowsExistedAsAnAllTimeTreeWithoutWindows() {
    SynthesisState current = SynthesisState.empty(new MergeTree("k", 4, 100)).withChunk("d1", 12);
    String json = new String(serde.serializer().serialize("t", current), StandardCharsets.UTF_8);
    String older =
        json.replaceAll(",\"(pendingChunks|closing|windows)\":(\\[\\]|false|\\{[^}]*\\})", "");
    assertThat(older)
        .doesNotContain("pendingChunks")
        .doesNotContain("closing")
        .doesNotContain("windows");

    SynthesisState read =
        serde.deserializer().deserialize("t", older.getBytes(StandardCharsets.UTF_8));
    assertThat(read.window()).isNull();
    assertThat(read.pendingChunks()).isEmpty();
    assertThat(read.closing()).isFalse();
    assertThat(read.windows().open()).isEmpty();
    assertThat(read.windows().closedChunks()).isZero();
    assertThat(read.docIds()).containsExactly("d1");
  }

  @Test
  void shouldKeepSpansAcrossTheStoreAndReadStateWrittenBeforeTracingExisted() {
    SynthesisState current = SynthesisState.empty(new MergeTree("k", 4, 100)).withChunk("d1", 12);
    SpanRef chunk =
        new SpanRef(
            "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, true, null, 1_000L);
    current.spans().enter(TraceContext.of(chunk));
    current
        .spans()
        .open
        .put("k/d2/0", new SynthesisState.Open(chunk, "summarize_chunk", Map.of("a", 1L), null));
    current.tree().addLeaf(MergeTree.Node.leaf("k/d1/0", "summary", 3, chunk));
    String json = new String(serde.serializer().serialize("t", current), StandardCharsets.UTF_8);
    SynthesisState read =
        serde.deserializer().deserialize("t", json.getBytes(StandardCharsets.UTF_8));
    assertThat(read.spans().round).isEqualTo(TraceContext.of(chunk));
    assertThat(read.spans().open.get("k/d2/0").span()).isEqualTo(chunk);
    assertThat(read.spans().open.get("k/d2/0").name()).isEqualTo("summarize_chunk");
    assertThat(read.tree().frontier().get(0).span()).isEqualTo(chunk);

    String older =
        // Before tracing: no spans, nor the fields after them (lineage, document digests, failed
        // chunks).
        json.replaceAll(",\"spans\":.*$", "}").replaceAll(",\"span\":\\{[^}]*\\}", "");
    assertThat(older).doesNotContain("\"span").contains("k/d1/0");
    SynthesisState old =
        serde.deserializer().deserialize("t", older.getBytes(StandardCharsets.UTF_8));
    assertThat(old.spans().round).isNull();
    assertThat(old.spans().open).isEmpty();
    assertThat(old.tree().frontier().get(0).span()).isNull();
    assertThat(old.docIds()).containsExactly("d1");
    assertThat(old.docDigests()).isEmpty();
    assertThat(old.failedChunks()).isEmpty();
  }

  @Test
  void shouldReadWindowsWrittenWithoutTheirCounters() {
    String json =
        "{\"tree\":{\"treeId\":\"k\",\"fanIn\":4,\"mergeTokenBudget\":100,\"sourceIdCap\":100,"
            + "\"closed\":false,\"failures\":0,\"mergesIssued\":0,\"leafTokens\":0},\"chunkInputTokens\":0,"
            + "\"synthesisInputTokens\":0,\"synthesisInFlightLevel\":0,\"windows\":{\"open\":[3600000]}}";
    SynthesisState read =
        serde.deserializer().deserialize("t", json.getBytes(StandardCharsets.UTF_8));
    assertThat(read.windows().open()).containsExactly(3_600_000L);
    assertThat(read.windows().closedInputTokens()).isZero();
    assertThat(read.windows().streamTimeMs()).isZero();
  }

  @Test
  void shouldReadStateWrittenBeforeTheSynthesisLagExistedWithUnknownDocumentTimes() {
    SynthesisState current = SynthesisState.empty(new MergeTree("k", 4, 100)).withChunk("d1", 12);
    String json = new String(serde.serializer().serialize("t", current), StandardCharsets.UTF_8);
    String older =
        json.replaceAll(
            ",\"(pendingDocumentMs|newestDocumentMs|synthesisInFlightNewestMs)\":(\\{\\}|0)", "");
    assertThat(older)
        .doesNotContain("pendingDocumentMs")
        .doesNotContain("newestDocumentMs")
        .doesNotContain("synthesisInFlightNewestMs");

    SynthesisState read =
        serde.deserializer().deserialize("t", older.getBytes(StandardCharsets.UTF_8));
    assertThat(read.pendingDocumentMs()).isEmpty();
    assertThat(read.newestDocumentMs()).isZero();
    assertThat(read.synthesisInFlightNewestMs()).isZero();
    assertThat(read.docIds()).containsExactly("d1");
    // A chunk answered after the upgrade has its time again.
    assertThat(read.withChunk("d2", 5, 1_000).newestDocumentMs()).isEqualTo(1_000);
  }
}
