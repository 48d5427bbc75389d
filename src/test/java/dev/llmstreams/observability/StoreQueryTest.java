package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StoreQueryTest {
  @Test
  void shouldReadTheForwardingMarkerBesideOtherParameters() {
    assertThat(StoreQuery.params("window=2026-11-02T09%3A00%3A00Z&local"))
        .containsEntry("window", "2026-11-02T09:00:00Z").containsEntry(StoreQuery.LOCAL, "");
    assertThat(StoreQuery.params("local")).containsOnlyKeys(StoreQuery.LOCAL);
    assertThat(StoreQuery.params(null)).isEmpty();
    assertThat(StoreQuery.params("&window=1&")).containsOnlyKeys("window");
  }
}
