package dev.llmstreams.summarizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.events.JsonSerde;
import java.nio.charset.StandardCharsets;
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

    SynthesisState read = serde.deserializer().deserialize("t", older.getBytes(StandardCharsets.UTF_8));
    assertThat(read.synthesisAskedAtMs()).isZero();
    assertThat(read.docIds()).containsExactly("d1");
    assertThat(read.chunkInputTokens()).isEqualTo(12);
  }
}
