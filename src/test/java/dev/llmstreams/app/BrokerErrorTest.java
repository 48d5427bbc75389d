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
 * A local broker that cannot start says why in one line, whichever command started it: the message
 * names what to change, and a stack trace would bury it.
 */
class BrokerErrorTest {
  @Test
  void demoOnABusyKafkaPortEndsWithOneLineThatNamesTheSetting(@TempDir Path dir) throws Exception {
    try (ServerSocket busy = new ServerSocket()) {
      busy.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      Path mcp = Files.createDirectories(dir.resolve("mcp"));
      Path config =
          Files.writeString(
              dir.resolve("demo.properties"),
              "kafka.port="
                  + busy.getLocalPort()
                  + "\nkafka.home="
                  + dir.resolve("kafka")
                  + "\nmcp.dir="
                  + mcp
                  + "\n");

      CliRun run = CliRun.of("demo", "--config", config.toString());

      assertThat(run.exit()).isEqualTo(2);
      assertThat(run.err().strip())
          .isEqualTo(
              "llm-streams: port "
                  + busy.getLocalPort()
                  + " on 127.0.0.1 is already in use by another process; choose another with"
                  + " kafka.port (LLMSTREAMS_KAFKA_PORT)");
    }
  }
}
