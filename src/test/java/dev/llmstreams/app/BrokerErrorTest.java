package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
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
  @TempDir Path dir;

  @Test
  void demoOnABusyKafkaPortNamesTheSettingAndHowToUseTheBrokerThere() throws Exception {
    try (ServerSocket busy = listening()) {
      CliRun run = demo(busy.getLocalPort(), null);

      assertOneLine(
          run,
          busy.getLocalPort(),
          "kafka.port (LLMSTREAMS_KAFKA_PORT); or, if a Kafka broker listens there, run the demo on"
              + " it (it creates its topics there): KAFKA_BOOTSTRAP=127.0.0.1:"
              + busy.getLocalPort()
              + " bin/llm-streams demo");
    }
  }

  @Test
  void aBusyControllerPortEndsWithOneLineThatNamesItsSetting() throws Exception {
    int kafkaPort;
    try (ServerSocket free = listening()) {
      kafkaPort = free.getLocalPort();
    }
    try (ServerSocket busy = listening()) {
      CliRun run = demo(kafkaPort, busy.getLocalPort());

      assertOneLine(
          run, busy.getLocalPort(), "kafka.controller.port (LLMSTREAMS_KAFKA_CONTROLLER_PORT)");
    }
  }

  /** Exit 2 and one line: the busy port, then the setting that moves it (and what follows). */
  private static void assertOneLine(CliRun run, int port, String settingAndMore) {
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "llm-streams: port "
                + port
                + " on 127.0.0.1 is already in use by another process; choose another with "
                + settingAndMore);
  }

  private static ServerSocket listening() throws IOException {
    ServerSocket socket = new ServerSocket();
    socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    return socket;
  }

  /** {@code demo} with a broker home of its own and no MCP install. */
  private CliRun demo(int kafkaPort, Integer controllerPort) throws IOException {
    Path mcp = Files.createDirectories(dir.resolve("mcp"));
    Path config =
        Files.writeString(
            dir.resolve("demo.properties"),
            "kafka.port="
                + kafkaPort
                + (controllerPort == null ? "" : "\nkafka.controller.port=" + controllerPort)
                + "\nkafka.home="
                + dir.resolve("kafka")
                + "\nmcp.dir="
                + mcp
                + "\n");
    return CliRun.of("demo", "--config", config.toString());
  }
}
