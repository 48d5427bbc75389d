package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A command that reads or writes a topic when no broker answers (none started yet, a wrong
 * KAFKA_BOOTSTRAP) ends with one line that says where it looked and what to do, not a stack trace.
 */
class UnreachableKafkaTest {
  @Test
  void tailWithNoBrokerEndsWithOneLineThatNamesTheAddressAndTheRemedies(@TempDir Path dir)
      throws Exception {
    int nobody;
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      nobody = s.getLocalPort();
    }
    Path config =
        Files.writeString(
            dir.resolve("app.properties"),
            "kafka.bootstrap=127.0.0.1:"
                + nobody
                + "\nkafka.client.default.api.timeout.ms=1000\nkafka.client.request.timeout.ms=500\n");

    CliRun run =
        CliRun.of("tail", "classifications", "--timeout", "1", "--config", config.toString());

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err().strip())
        .startsWith("llm-streams: Kafka at 127.0.0.1:" + nobody + " did not answer in time: ")
        .endsWith(
            "(is a broker running there, with the catalog's topics? `llm-streams kafka start` and"
                + " `llm-streams topics apply`, or set KAFKA_BOOTSTRAP)")
        .doesNotContain("\n")
        .doesNotContain("Exception");
  }

  @Test
  void aTimeoutIsFoundAmongTheCauses() {
    var timeout = new org.apache.kafka.common.errors.TimeoutException("not in metadata");

    assertThat(Main.kafkaTimeout(new RuntimeException(new IllegalStateException(timeout))))
        .isSameAs(timeout);
    assertThat(Main.kafkaTimeout(new RuntimeException("other"))).isNull();
  }
}
