package dev.llmstreams.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.testkit.KafkaCluster;
import dev.llmstreams.testkit.WithKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chaos engine on a real broker with a small load: two app JVMs, each SIGKILLed once or more and restarted, and
 * still nothing lost, nothing duplicated, every poison record in dead-letters, no tool call run twice, and no more
 * repeated LLM calls than the gateway can have in flight per kill.
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
    ObjectNode report = new ChaosRun(new ChaosRun.Options(GOALS, DOCUMENTS, REQUESTS, KILLS, 0.02, false, 7,
        kafka.bootstrapServers(), Duration.ofSeconds(25), Duration.ofSeconds(120), Duration.ofSeconds(120), 100,
        LLM_CONCURRENCY, 1500, "512m",
        // A dead member leaves the group after its session times out (45 s by default): keep the test short.
        Map.of("session.timeout.ms", "6000", "heartbeat.interval.ms", "1500"), dir), System.err).run();

    String why = report.toPrettyString();
    assertThat(report.path("kills").asInt()).as(why).isEqualTo(KILLS);
    assertThat(report.path("inputs").asInt()).as(why).isEqualTo(GOALS + DOCUMENTS + REQUESTS);
    assertThat(report.path("lost").asInt()).as(why).isZero();
    assertThat(report.path("duplicated").asInt()).as(why).isZero();
    assertThat(report.path("outputs").asLong()).as(why).isEqualTo(GOALS + DOCUMENTS + REQUESTS);
    assertThat(report.path("poison_sent").asInt()).as(why).isPositive();
    assertThat(report.path("poison_dead_lettered").asInt()).as(why).isEqualTo(report.path("poison_sent").asInt());
    assertThat(report.path("tool_calls_repeated").asInt()).as(why).isZero();
    assertThat(report.path("llm_calls_repeated").asLong()).as(why).isLessThanOrEqualTo((long) LLM_CONCURRENCY * KILLS);
    assertThat(report.path("max_recovery_s").asDouble()).as(why).isPositive();
    JsonNode perPattern = report.path("per_pattern");
    assertThat(perPattern.path("controller").path("inputs_with_output").asInt()).as(why).isEqualTo(GOALS);
    assertThat(perPattern.path("summarizer").path("inputs_with_output").asInt()).as(why).isEqualTo(DOCUMENTS);
    assertThat(perPattern.path("specialist").path("inputs_with_output").asInt()).as(why).isEqualTo(REQUESTS);
    // The goals used every built-in tool with a side effect or a read the run can see.
    assertThat(report.path("tools").path("publications").asInt()).as(why).isEqualTo(GOALS / ChaosLoad.TOOLS.size());
    assertThat(report.path("tools").path("http_get_fetches").asInt()).as(why)
        .isGreaterThanOrEqualTo(GOALS / ChaosLoad.TOOLS.size());
    assertThat(report.path("verdict").path("passed").asBoolean()).as(why).isTrue();
  }
}
