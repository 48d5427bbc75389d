package dev.llmstreams.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StoreSizesTest {
  @Test
  void entriesAreSummedPerStoreOverTasksAndInstances() {
    String a =
        """
        # HELP llmstreams_store_entries Entries in a state store
        # TYPE llmstreams_store_entries gauge
        llmstreams_store_entries{store="controller-goal-log",task="0_1",} 3.0
        llmstreams_store_entries{store="controller-goal-log",task="0_2",} 2.0
        llmstreams_store_entries{task="0_0",store="gateway-pending"} 7.0
        llmstreams_other{store="x"} 99.0
        """;
    String b = "llmstreams_store_entries{store=\"controller-goal-log\"} 4.0\n";

    assertThat(StoreSizes.parse(a))
        .containsOnly(Map.entry("controller-goal-log", 5.0), Map.entry("gateway-pending", 7.0));

    StoreSizes sizes = new StoreSizes();
    sizes.add(3.0, List.of(StoreSizes.parse(a), StoreSizes.parse(b)));
    assertThat(sizes.gaugeSeen()).isTrue();
    assertThat(sizes.series().get("controller-goal-log")).containsExactly(new double[] {3.0, 9.0});
  }

  @Test
  void withoutTheGaugeTheSeriesStayEmpty() {
    StoreSizes sizes = new StoreSizes();
    sizes.add(1.0, List.of(StoreSizes.parse("jvm_threads_live_threads 30.0\n")));

    assertThat(sizes.gaugeSeen()).isFalse();
    assertThat(sizes.series()).isEmpty();
  }
}
