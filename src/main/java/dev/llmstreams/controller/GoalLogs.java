package dev.llmstreams.controller;

import dev.llmstreams.events.JsonSerde;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * One task's goal-log store, with the logs this task last saved kept as objects, so that the next
 * event of a running goal does not parse its whole log back from JSON, and a saved log is turned
 * into JSON once: the bytes measured against {@code controller.max.state.bytes} are the bytes
 * stored.
 *
 * <p>The store stays the truth. A log is handed out by {@link #take} and leaves the memory copy
 * then: only {@link #put} brings it back, as it was written to the store, so a log that an event
 * changed without saving (a refused record, an exception half-way) is read from the store next
 * time. {@link #forget} drops every copy; the processor calls it when an event fails, and starts
 * with a new, empty one whenever it is (re)initialized, which Kafka Streams does after an aborted
 * transaction has rolled the store back.
 */
final class GoalLogs {
  /** Logs kept per task: a running goal's log is a few kilobytes; a finished one, its result. */
  static final int MAX_KEPT = 1_024;

  private static final JsonSerde<GoalLog> JSON = JsonSerde.of(GoalLog.class);

  /**
   * The store's serde: a log that {@link #put} already turned into bytes is written as those bytes.
   */
  static final Serde<GoalLog> SERDE =
      Serdes.serdeFrom(new Encoded(JSON.serializer()), JSON.deserializer());

  private final KeyValueStore<String, GoalLog> store;
  private final Map<String, GoalLog> kept =
      new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, GoalLog> eldest) {
          return size() > MAX_KEPT;
        }
      };

  GoalLogs(KeyValueStore<String, GoalLog> store) {
    this.store = store;
  }

  /** The goal's log as last saved, for this event to change; null for a goal not in the store. */
  GoalLog take(String goalId) {
    GoalLog log = kept.remove(goalId);
    return log != null ? log : store.get(goalId);
  }

  /** The log as JSON, as the store would write it. */
  static byte[] encode(GoalLog log) {
    return JSON.serializer().serialize(null, log);
  }

  /**
   * Saves {@code log}, whose JSON is {@code encoded} (from {@link #encode}, after its last change).
   */
  void put(GoalLog log, byte[] encoded) {
    log.encoded = encoded;
    try {
      store.put(log.goalId, log);
    } finally {
      log.encoded = null;
    }
    kept.put(log.goalId, log);
  }

  void delete(String goalId) {
    kept.remove(goalId);
    store.delete(goalId);
  }

  /** Drops the memory copies: the next {@link #take} of each goal reads the store. */
  void forget() {
    kept.clear();
  }

  /** Writes the bytes {@link #put} made, or serializes a log that has none. */
  private record Encoded(Serializer<GoalLog> json) implements Serializer<GoalLog> {
    @Override
    public byte[] serialize(String topic, GoalLog log) {
      return log != null && log.encoded != null ? log.encoded : json.serialize(topic, log);
    }
  }
}
