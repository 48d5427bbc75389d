package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.observability.HttpAuth.Reason;
import dev.llmstreams.observability.HttpAuth.Scope;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokens file, the scope checks and what is refused at start, without a server. */
class HttpAuthTest {
  private static final String READER = "reader-token-0123456789abcdef";
  private static final String WRITER = "writer-token-0123456789abcdef";
  private static final String SCRAPER = "scraper-token-0123456789abcdef";

  private static String sha256(String token) {
    return "sha256:" + HexFormat.of().formatHex(HttpAuth.sha256(token));
  }

  private static final String FILE =
      "# llm-streams tokens: name:scopes:token\n"
          + "\n"
          + "   \n"
          + "dashboard:read:"
          + READER
          + "\n"
          + "  agent : read , WRITE : "
          + WRITER
          + "  \n"
          + "prometheus:metrics:"
          + sha256(SCRAPER).toUpperCase(java.util.Locale.ROOT).replace("SHA256:", "sha256:")
          + "\r\n";

  @Test
  void aFileOfTokensWithCommentsBlankLinesAndHashes() {
    HttpAuth auth = HttpAuth.of(FILE, Set.of("/health"));
    assertThat(auth.required()).isTrue();
    assertThat(auth.names()).containsExactly("dashboard", "agent", "prometheus");

    assertThat(auth.check("Bearer " + READER, Scope.READ)).isEqualTo(ok("dashboard", Scope.READ));
    assertThat(auth.check("bearer " + WRITER, Scope.WRITE)).isEqualTo(ok("agent", Scope.WRITE));
    assertThat(auth.check("Bearer " + WRITER, Scope.READ).allowed()).isTrue();
    // A hashed token is presented as itself, not as its hash.
    assertThat(auth.check("Bearer " + SCRAPER, Scope.METRICS).allowed()).isTrue();
    assertThat(auth.check("Bearer " + sha256(SCRAPER), Scope.METRICS).reason())
        .isEqualTo(Reason.INVALID);
    // Any valid token when no scope is asked for.
    assertThat(auth.check("Bearer " + SCRAPER, null).allowed()).isTrue();

    HttpAuth.Outcome scope = auth.check("Bearer " + READER, Scope.WRITE);
    assertThat(scope.reason()).isEqualTo(Reason.INSUFFICIENT_SCOPE);
    assertThat(scope.reason().status()).isEqualTo(403);
    assertThat(scope.name()).isEqualTo("dashboard");
    assertThat(scope.challenge())
        .isEqualTo("Bearer realm=\"llm-streams\", error=\"insufficient_scope\", scope=\"write\"");
    assertThat(scope.message()).contains("dashboard", "write").doesNotContain(READER);

    HttpAuth.Outcome missing = auth.check(null, Scope.READ);
    assertThat(missing.reason()).isEqualTo(Reason.MISSING);
    assertThat(missing.challenge()).isEqualTo("Bearer realm=\"llm-streams\"");
    assertThat(auth.check("Basic " + READER, Scope.READ).reason()).isEqualTo(Reason.MISSING);
    HttpAuth.Outcome wrong = auth.check("Bearer " + READER + "x", Scope.READ);
    assertThat(wrong.reason()).isEqualTo(Reason.INVALID);
    assertThat(wrong.reason().status()).isEqualTo(401);
    assertThat(wrong.challenge()).contains("error=\"invalid_token\"");

    assertThat(auth.open("/health")).isTrue();
    assertThat(auth.open("/metrics")).isFalse();
    assertThat(HttpAuth.none().open("/goals/")).isTrue();
    assertThat(HttpAuth.none().check(null, Scope.WRITE).allowed()).isTrue();
  }

  private static HttpAuth.Outcome ok(String name, Scope scope) {
    return new HttpAuth.Outcome(null, name, scope);
  }

  @Test
  void aBadLineIsNamedByNumberAndNeverEchoed() {
    String secret = "s3cret-that-must-not-leak";
    assertBad("just-a-token-" + secret, "line 1", "name:scopes:token", secret);
    assertBad("# c\nbad name!:read:" + secret, "line 2", "the name", secret);
    assertBad("ok:read,admin:" + secret, "line 1", "scopes", secret);
    // Fields swapped: the token where the scopes go is not echoed either.
    assertBad("ok:" + secret + ":read", "line 1", "scopes", secret);
    assertBad("ok:read:short", "line 1", "shorter than 16", "short\n");
    assertBad("ok:read:sha256:abc" + secret, "line 1", "64 hexadecimal", secret);
    assertBad("a:read:" + secret + "\nb:write:" + secret, "line 2", "line 1", secret);
    assertBad("a:read:" + secret + "\na:write:" + secret + "x", "line 2", "a is also", secret);
  }

  private static void assertBad(String file, String line, String why, String secret) {
    assertThatThrownBy(() -> HttpAuth.parse(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(line)
        .hasMessageContaining(why)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain(secret));
  }

  @Test
  void theConfiguredTokensAndWhatIsRefusedAtStart(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("tokens"), FILE);
    AppConfig beyond =
        AppConfig.of(
            Map.of(
                AppConfig.HTTP_HOST, "0.0.0.0", AppConfig.HTTP_AUTH_TOKENS_FILE, file.toString()));
    assertThat(HttpAuth.refusal(beyond)).isEmpty();
    HttpAuth auth = HttpAuth.from(beyond);
    assertThat(auth.required()).isTrue();
    // Default open paths: the probes, not the metrics.
    assertThat(auth.open("/health")).isTrue();
    assertThat(auth.open("/ready")).isTrue();
    assertThat(auth.open("/metrics")).isFalse();

    // mcp.server.token joins the file's tokens with read and write.
    HttpAuth both =
        HttpAuth.from(
            AppConfig.of(
                Map.of(
                    AppConfig.HTTP_AUTH_TOKENS_FILE,
                    file.toString(),
                    AppConfig.MCP_SERVER_TOKEN,
                    "legacy",
                    AppConfig.HTTP_AUTH_OPEN_PATHS,
                    "")));
    assertThat(both.names())
        .containsExactly("dashboard", "agent", "prometheus", "mcp.server.token");
    assertThat(both.check("Bearer legacy", Scope.WRITE).allowed()).isTrue();
    assertThat(both.check("Bearer legacy", Scope.METRICS).reason())
        .isEqualTo(Reason.INSUFFICIENT_SCOPE);
    assertThat(both.open("/health")).isFalse();

    // auto without tokens: none on loopback, a refusal beyond it; none said explicitly: allowed.
    assertThat(HttpAuth.from(AppConfig.of(Map.of())).required()).isFalse();
    assertThat(HttpAuth.refusal(AppConfig.of(Map.of()))).isEmpty();
    AppConfig open = AppConfig.of(Map.of(AppConfig.HTTP_HOST, "0.0.0.0"));
    assertThat(HttpAuth.refusal(open)).isPresent();
    AppConfig none =
        AppConfig.of(Map.of(AppConfig.HTTP_HOST, "0.0.0.0", AppConfig.HTTP_AUTH, "none"));
    assertThat(HttpAuth.refusal(none)).isEmpty();
    assertThat(HttpAuth.warnings(none))
        .singleElement()
        .asString()
        .contains("0.0.0.0", "http.auth=none");
    // none means none, tokens or not (and says the tokens are ignored).
    AppConfig noneWithTokens =
        AppConfig.of(
            Map.of(AppConfig.HTTP_AUTH, "none", AppConfig.HTTP_AUTH_TOKENS_FILE, file.toString()));
    assertThat(HttpAuth.from(noneWithTokens).required()).isFalse();
    assertThat(HttpAuth.warnings(noneWithTokens))
        .singleElement()
        .asString()
        .contains("ignored", "http.auth.tokens.file");
    // bearer without tokens: refused even on loopback.
    assertThat(HttpAuth.refusal(AppConfig.of(Map.of(AppConfig.HTTP_AUTH, "bearer"))))
        .hasValueSatisfying(why -> assertThat(why).contains("http.auth=bearer"));

    Path empty = Files.writeString(dir.resolve("empty"), "# nothing yet\n");
    assertThatThrownBy(
            () ->
                HttpAuth.from(
                    AppConfig.of(Map.of(AppConfig.HTTP_AUTH_TOKENS_FILE, empty.toString()))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("holds no token");
    assertThatThrownBy(() -> AppConfig.of(Map.of(AppConfig.HTTP_AUTH, "basic")))
        .isInstanceOf(ConfigException.class);
    assertThatThrownBy(() -> AppConfig.of(Map.of(AppConfig.HTTP_AUTH_OPEN_PATHS, "/goals")))
        .isInstanceOf(ConfigException.class);
  }
}
