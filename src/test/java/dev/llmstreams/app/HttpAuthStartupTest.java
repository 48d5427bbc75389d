package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
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
 * The app refuses to serve HTTP beyond loopback without bearer tokens unless {@code http.auth=none}
 * says so, before it binds or asks Kafka anything (so without a broker); the tokens themselves are
 * in {@code HttpAuthTest}, {@code HttpApiAuthTest} and {@code HttpEndpointTest}.
 */
class HttpAuthStartupTest {
  private static final String TOKEN = "a-token-of-some-length-0123456789";

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
          .hasMessageContaining("LLMSTREAMS_HTTP_AUTH_TOKENS_FILE")
          .hasMessageContaining("http.auth=none");
    }
  }

  @Test
  void explicitlyNoAuthOrTokensLetItStart(@TempDir Path dir) throws Exception {
    assertThatCode(
            () ->
                LlmStreamsApp.requireHttpAuth(
                    AppConfig.of(
                        Map.of(AppConfig.HTTP_HOST, "0.0.0.0", AppConfig.HTTP_AUTH, "none"))))
        .doesNotThrowAnyException();
    Path tokens = Files.writeString(dir.resolve("tokens"), "ops:read,write:" + TOKEN + "\n");
    assertThatCode(
            () ->
                LlmStreamsApp.requireHttpAuth(
                    AppConfig.of(
                        Map.of(
                            AppConfig.HTTP_HOST,
                            "0.0.0.0",
                            AppConfig.HTTP_AUTH_TOKENS_FILE,
                            tokens.toString()))))
        .doesNotThrowAnyException();
    // Loopback needs nothing; bearer needs tokens even there.
    assertThatCode(() -> LlmStreamsApp.requireHttpAuth(AppConfig.of(Map.of())))
        .doesNotThrowAnyException();
    assertThatThrownBy(
            () ->
                LlmStreamsApp.requireHttpAuth(AppConfig.of(Map.of(AppConfig.HTTP_AUTH, "bearer"))))
        .isInstanceOf(Main.UserError.class)
        .hasMessageContaining("http.auth=bearer")
        .hasMessageContaining("http.auth.tokens.file");
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
        "http.host=0.0.0.0\nkafka.bootstrap=127.0.0.1:1\nhttp.auth.tokens.file="
            + dir.resolve("missing-tokens")
            + "\n",
        java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
    CliRun missingTokens = CliRun.of("--config", config.toString(), "run");
    assertThat(missingTokens.exit()).isEqualTo(2);
    assertThat(missingTokens.err()).contains("http.auth.tokens.file").contains("cannot be read");

    Path bad = Files.writeString(dir.resolve("bad-tokens"), "# ops\nops:read:short-secret\n");
    Files.writeString(
        config,
        "http.host=0.0.0.0\nkafka.bootstrap=127.0.0.1:1\nhttp.auth.tokens.file=" + bad + "\n",
        java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
    CliRun badTokens = CliRun.of("--config", config.toString(), "run");
    assertThat(badTokens.exit()).isEqualTo(2);
    assertThat(badTokens.err())
        .contains("http.auth.tokens.file", "line 2", "shorter than 16")
        .doesNotContain("short-secret");

    Files.writeString(
        config,
        "http.host=0.0.0.0\nkafka.bootstrap=127.0.0.1:1\n",
        java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
    CliRun noToken = CliRun.of("--config", config.toString(), "run");
    assertThat(noToken.exit()).isEqualTo(2);
    assertThat(noToken.err())
        .startsWith("llm-streams: the HTTP server binds to 0.0.0.0")
        .contains("LLMSTREAMS_HTTP_AUTH_TOKENS_FILE", "http.auth=none")
        .doesNotContain("Exception");

    Files.writeString(
        config,
        "http.host=127.0.0.1\nkafka.bootstrap=127.0.0.1:1\nhttp.tls.keystore.file="
            + dir.resolve("missing.p12")
            + "\n",
        java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
    CliRun noKeystore = CliRun.of("--config", config.toString(), "run");
    assertThat(noKeystore.exit()).isEqualTo(2);
    assertThat(noKeystore.err()).contains("http.tls.keystore.file").contains("cannot be read");
  }
}
