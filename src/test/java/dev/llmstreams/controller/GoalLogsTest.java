package dev.llmstreams.controller;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;

class GoalLogsTest {
  /** A store that keeps what the serde wrote, as a store's changelog would, and counts reads. */
  private final Map<String, byte[]> bytes = new HashMap<>();

  private final AtomicInteger reads = new AtomicInteger();

  @SuppressWarnings("unchecked")
  private final KeyValueStore<String, GoalLog> store =
      (KeyValueStore<String, GoalLog>)
          Proxy.newProxyInstance(
              getClass().getClassLoader(),
              new Class<?>[] {KeyValueStore.class},
              (proxy, method, args) ->
                  switch (method.getName()) {
                    case "get" -> {
                      reads.incrementAndGet();
                      byte[] b = bytes.get((String) args[0]);
                      yield GoalLogs.SERDE.deserializer().deserialize("t", b);
                    }
                    case "put" -> {
                      bytes.put(
                          (String) args[0],
                          GoalLogs.SERDE.serializer().serialize("t", (GoalLog) args[1]));
                      yield null;
                    }
                    case "delete" -> bytes.remove((String) args[0]);
                    default -> throw new UnsupportedOperationException(method.getName());
                  });

  private final GoalLogs logs = new GoalLogs(store);

  private static GoalLog log(String id, int step) {
    GoalLog log = new GoalLog();
    log.goalId = id;
    log.step = step;
    return log;
  }

  @Test
  void aSavedLogIsWrittenAsTheBytesMeasuredAndHandedBackWithoutParsing() {
    GoalLog log = log("g1", 1);
    byte[] encoded = GoalLogs.encode(log);

    logs.put(log, encoded);

    assertThat(bytes.get("g1")).isEqualTo(encoded);
    assertThat(log.encoded).as("the bytes are not kept on the log after the write").isNull();
    assertThat(logs.take("g1")).isSameAs(log);
    assertThat(reads).hasValue(0);
  }

  @Test
  void aLogChangedButNotSavedIsReadFromTheStoreNextTime() {
    GoalLog log = log("g1", 1);
    logs.put(log, GoalLogs.encode(log));

    GoalLog taken = logs.take("g1");
    taken.step = 99; // an event that failed half-way, or did not save

    GoalLog again = logs.take("g1");
    assertThat(again).isNotSameAs(taken);
    assertThat(again.step).isEqualTo(1);
    assertThat(reads).hasValue(1);
  }

  @Test
  void forgetAndDeleteDropTheMemoryCopies() {
    GoalLog a = log("a", 1);
    GoalLog b = log("b", 2);
    logs.put(a, GoalLogs.encode(a));
    logs.put(b, GoalLogs.encode(b));

    logs.forget();
    assertThat(logs.take("a")).isNotSameAs(a).extracting(l -> l.step).isEqualTo(1);

    logs.delete("b");
    assertThat(logs.take("b")).isNull();
    assertThat(bytes).doesNotContainKey("b");
  }

  @Test
  void theSerdeWritesALogWithoutPreparedBytesAsJson() {
    GoalLog log = log("g1", 3);

    byte[] written = GoalLogs.SERDE.serializer().serialize("t", log);

    assertThat(written).isEqualTo(GoalLogs.encode(log));
    assertThat(new String(written, StandardCharsets.UTF_8))
        .contains("\"goalId\":\"g1\"")
        .doesNotContain("encoded");
  }

  @Test
  void onlyTheMostRecentlyUsedLogsStayInMemory() {
    for (int i = 0; i <= GoalLogs.MAX_KEPT; i++) {
      GoalLog log = log("g" + i, i);
      logs.put(log, GoalLogs.encode(log));
    }

    assertThat(logs.take("g" + GoalLogs.MAX_KEPT).step).isEqualTo(GoalLogs.MAX_KEPT);
    assertThat(reads).hasValue(0);
    assertThat(logs.take("g0").step).as("the eldest was dropped, read from the store").isZero();
    assertThat(reads).hasValue(1);
  }
}
