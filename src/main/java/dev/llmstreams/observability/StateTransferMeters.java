package dev.llmstreams.observability;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.processor.StandbyUpdateListener;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.processor.TaskId;

/**
 * Counts the changelog records a pattern's stores take in: restored into an active store (a task
 * that moved here or started with stale local state) and applied to a standby replica. A failover
 * onto an up-to-date standby restores few; a large restore count after a takeover means the
 * standbys were missing or behind.
 */
public final class StateTransferMeters implements StateRestoreListener, StandbyUpdateListener {
  private final MeterRegistry registry;
  private final String pattern;

  private StateTransferMeters(MeterRegistry registry, String pattern) {
    this.registry = registry;
    this.pattern = pattern;
  }

  /**
   * Registers the listeners on {@code streams}; call before it starts. Each store's counters start
   * at 0 (standby ones for task-local stores only), so a dashboard shows them before the first
   * restore or standby update.
   */
  public static void bind(
      KafkaStreams streams,
      String pattern,
      MeterRegistry registry,
      org.apache.kafka.streams.TopologyDescription topology) {
    StateTransferMeters meters = new StateTransferMeters(registry, pattern);
    StoreEntries.localStores(topology)
        .forEach(
            store -> {
              meters.restored(store);
              meters.standby(store);
            });
    StoreEntries.globalStores(topology).forEach(meters::restored);
    streams.setGlobalStateRestoreListener(meters);
    streams.setStandbyUpdateListener(meters);
  }

  private Counter restored(String store) {
    return Counter.builder("llmstreams.state.restored.records")
        .description(
            "Changelog records restored into active state stores (after a task moved here, or a restart)")
        .tag("pattern", pattern)
        .tag("store", store)
        .register(registry);
  }

  private Counter standby(String store) {
    return Counter.builder("llmstreams.state.standby.records")
        .description("Changelog records applied to standby replicas, kept warm for a failover")
        .tag("pattern", pattern)
        .tag("store", store)
        .register(registry);
  }

  @Override
  public void onRestoreStart(
      TopicPartition partition, String store, long startingOffset, long endingOffset) {
    restored(store); // registered at 0, so a takeover that restores nothing still shows the series
  }

  @Override
  public void onBatchRestored(
      TopicPartition partition, String store, long batchEndOffset, long numRestored) {
    restored(store).increment(numRestored);
  }

  @Override
  public void onRestoreEnd(TopicPartition partition, String store, long totalRestored) {}

  @Override
  public void onUpdateStart(TopicPartition partition, String store, long startingOffset) {
    standby(store);
  }

  @Override
  public void onBatchLoaded(
      TopicPartition partition,
      String store,
      TaskId task,
      long batchEndOffset,
      long batchSize,
      long currentEndOffset) {
    standby(store).increment(batchSize);
  }

  @Override
  public void onUpdateSuspended(
      TopicPartition partition,
      String store,
      long storeOffset,
      long currentEndOffset,
      SuspendReason reason) {}
}
