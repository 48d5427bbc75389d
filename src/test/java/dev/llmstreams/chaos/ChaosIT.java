package dev.llmstreams.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.WithKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chaos engine on a real broker with a small load: two app JVMs, each SIGKILLed once or more
 * and restarted, and still nothing lost, nothing duplicated, every poison record in dead-letters,
 * no tool call run twice, and no more repeated LLM calls than the gateway can have in flight per
 * kill. The inputs come partitioned as by the default ({@code mixed}): Java's murmur2, librdkafka's
 * CRC32 and round robin, so most are off their key's partition and the kills fall while the app
 * re-routes them.
 */
@WithKafka
class ChaosIT {
  private static final int GOALS = 10;
  private static final int DOCUMENTS = 30;
  private static final int REQUESTS = 100;
  private static final int KILLS = 2;
  private static final int LLM_CONCURRENCY = 8;

  @TempDir Path dir;

  @Test
  void killedInstancesLoseNothingAndDuplicateNothing(KafkaCluster kafka) throws Exception {
    ObjectNode report =
        new ChaosRun(
                new ChaosRun.Options(
                    GOALS,
                    DOCUMENTS,
                    REQUESTS,
                    KILLS,
                    0.02,
                    false,
                    7,
                    Partitioning.Mode.MIXED,
                    kafka.bootstrapServers(),
                    Duration.ofSeconds(25),
                    Duration.ofSeconds(120),
                    Duration.ofSeconds(120),
                    100,
                    LLM_CONCURRENCY,
                    1500,
                    "512m",
                    // Each kill starts a JVM on a machine busy with the other instance, the broker
                    // and the load: C1 alone and the serial collector start it sooner than C2's
                    // compiler threads and G1 (as ChildJvm starts the apps other ITs kill).
                    List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"),
                    // A dead member leaves the group after its session times out (45 s by default):
                    // keep the test short.
                    Map.of("session.timeout.ms", "6000", "heartbeat.interval.ms", "1500"),
                    dir),
                System.err)
            .run();

    String why = report.toPrettyString();
    System.err.println(
        why); // the report, also when it passes (target/failsafe-reports/*ChaosIT-output.txt)
    assertThat(report.path("kills").asInt()).as(why).isEqualTo(KILLS);
    assertThat(report.path("inputs").asInt()).as(why).isEqualTo(GOALS + DOCUMENTS + REQUESTS);
    assertThat(report.path("lost").asInt()).as(why).isZero();
    assertThat(report.path("duplicated").asInt()).as(why).isZero();
    assertThat(report.path("outputs").asLong()).as(why).isEqualTo(GOALS + DOCUMENTS + REQUESTS);
    assertThat(report.path("poison_sent").asInt()).as(why).isPositive();
    assertThat(report.path("poison_dead_lettered").asInt())
        .as(why)
        .isEqualTo(report.path("poison_sent").asInt());
    assertThat(report.path("tool_calls_repeated").asInt()).as(why).isZero();
    assertThat(report.path("llm_calls_repeated").asLong())
        .as(why)
        .isLessThanOrEqualTo((long) LLM_CONCURRENCY * KILLS);
    assertThat(report.path("max_recovery_s").asDouble()).as(why).isPositive();
    JsonNode perPattern = report.path("per_pattern");
    assertThat(perPattern.path("controller").path("inputs_with_output").asInt())
        .as(why)
        .isEqualTo(GOALS);
    assertThat(perPattern.path("summarizer").path("inputs_with_output").asInt())
        .as(why)
        .isEqualTo(DOCUMENTS);
    assertThat(perPattern.path("specialist").path("inputs_with_output").asInt())
        .as(why)
        .isEqualTo(REQUESTS);
    // The goals used every built-in tool with a side effect or a read the run can see.
    assertThat(report.path("tools").path("publications").asInt())
        .as(why)
        .isEqualTo(GOALS / ChaosLoad.TOOLS.size());
    assertThat(report.path("tools").path("http_get_fetches").asInt())
        .as(why)
        .isGreaterThanOrEqualTo(GOALS / ChaosLoad.TOOLS.size());
    // The inputs came as librdkafka clients and producers that pick partitions send them, as well
    // as Java's: every
    // kill fell while records off their key's partition were arriving.
    JsonNode partitioners = report.path("partitioners");
    assertThat(partitioners.path("partitioner").asText()).as(why).isEqualTo("mixed");
    // (Approvals, two here, are placed the same way, too few to be sure one lands off its key's
    // partition.)
    for (String input : List.of(".goals", ".documents", ".classification-requests")) {
      JsonNode topic = perTopic(partitioners.path("per_topic"), input);
      assertThat(topic.path("off_key_partition").asLong()).as(input + "\n" + why).isPositive();
    }
    for (String used : List.of("java", "librdkafka", "explicit")) {
      long n = 0;
      for (JsonNode topic : partitioners.path("per_topic")) {
        n += topic.path(used).asLong();
      }
      assertThat(n).as(used + "\n" + why).isPositive();
    }
    assertThat(report.path("sent_off_key_partition").asLong()).as(why).isPositive();
    // ... and the app said it re-routed records (a lower bound: a killed JVM's last few are not
    // seen).
    assertThat(report.path("records_rerouted").asLong()).as(why).isPositive();
    for (JsonNode kill : report.path("kill_log")) {
      assertThat(kill.path("sent_off_key_partition_before").asLong()).as(why).isPositive();
    }
    assertThat(report.path("verdict").path("passed").asBoolean()).as(why).isTrue();
  }

  /** The counts of the run's topic whose name ends with {@code suffix}. */
  private static JsonNode perTopic(JsonNode perTopic, String suffix) {
    for (Iterator<Map.Entry<String, JsonNode>> it = perTopic.properties().iterator();
        it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().endsWith(suffix)) {
        return e.getValue();
      }
    }
    throw new AssertionError("no topic ending " + suffix + " in " + perTopic);
  }
}
