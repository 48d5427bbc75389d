package dev.llmstreams.summarizer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SynthesisWindowQueryTest {
  @Test
  void shouldReadAWindowStartAsIsoOrEpochMillis() {
    assertThat(SummarizerModule.windowStartMs("2026-11-02T09:00:00Z"))
        .isEqualTo(1_793_610_000_000L);
    assertThat(SummarizerModule.windowStartMs("1793577600000")).isEqualTo(1_793_577_600_000L);
  }

  @Test
  void shouldRefuseAWindowThatIsNeitherIsoNorEpochMillis() {
    assertThat(SummarizerModule.windowStartMs("yesterday")).isNull();
    assertThat(SummarizerModule.windowStartMs("")).isNull();
    assertThat(SummarizerModule.windowStartMs("2026-11-02")).isNull();
  }

  @Test
  void shouldNameTheWindowTreeTheRouteReads() {
    long start = SummarizerModule.windowStartMs("2026-11-02T00:00:00Z");
    assertThat(Windowing.treeKey("m1", start)).isEqualTo("m1@1793577600000");
    assertThat(Windowing.treeKeyOf("m1", "m1@1793577600000/d1/0")).isEqualTo("m1@1793577600000");
    assertThat(Windowing.treeKeyOf("m1@5", "m1@5/L1/abc"))
        .as("a key with @ keeps its all-time tree")
        .isEqualTo("m1@5");
    assertThat(Windowing.docIdOf("m1", "m1@1793577600000/d/1/0")).isEqualTo("d/1");
  }
}
