package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.observability.Observability;
import dev.llmstreams.topics.TopicCatalog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The app refuses to serve {@code /mcp} beyond loopback without a bearer token, before it binds or
 * asks Kafka anything (so without a broker); the wrong and right tokens are in {@code
 * HttpEndpointTest}.
 */
class McpServerAuthTest {
  @Test
  void theAppRefusesANonLoopbackBindWithoutAToken() {
    try (Observability o = new Observability();
        LlmStreamsApp app =
            new LlmStreamsApp(
                AppConfig.of(Map.of(AppConfig.HTTP_HOST, "0.0.0.0", AppConfig.HTTP_PORT, "0")),
                TopicCatalog.load(),
                o)) {
      assertThatThrownBy(() -> app.start(List.of()))
          .isInstanceOf(Main.UserError.class)
          .hasMessageContaining("0.0.0.0")
          .hasMessageContaining("LLMSTREAMS_MCP_SERVER_TOKEN");
    }
  }

  @Test
  void runSaysWhyInOneLine(@TempDir Path dir) throws Exception {
    Path config =
        Files.writeString(
            dir.resolve("app.properties"),
            "http.host=0.0.0.0\nkafka.bootstrap=127.0.0.1:1\nmcp.server.token.file="
                + dir.resolve("missing-token")
                + "\n");
    CliRun missingFile = CliRun.of("--config", config.toString(), "run");
    assertThat(missingFile.exit()).isEqualTo(2);
    assertThat(missingFile.err()).contains("mcp.server.token.file").contains("cannot be read");

    Files.writeString(
        config,
        "http.host=0.0.0.0\nkafka.bootstrap=127.0.0.1:1\n",
        java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
    CliRun noToken = CliRun.of("--config", config.toString(), "run");
    assertThat(noToken.exit()).isEqualTo(2);
    assertThat(noToken.err())
        .startsWith("llm-streams: the HTTP server binds to 0.0.0.0")
        .contains("LLMSTREAMS_MCP_SERVER_TOKEN")
        .doesNotContain("Exception");
  }
}
