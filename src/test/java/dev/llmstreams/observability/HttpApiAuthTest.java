package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.config.AppConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.kafka.common.config.ConfigException;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@link HttpApi} on loopback with bearer tokens: the status and challenge of each refusal,
 * the open probes, the failure counter, logs without the token; and HTTPS from a keystore.
 */
class HttpApiAuthTest {
  private static final String READER = "reader-token-0123456789abcdef";
  private static final String WRITER = "writer-token-0123456789abcdef";
  private static final String SCRAPER = "scraper-token-0123456789abcdef";
  private static final String TOKENS =
      "dashboard:read:" + READER + "\nagent:read,write:" + WRITER + "\nprom:metrics:" + SCRAPER;
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private Observability observability;
  private HttpApi http;

  @AfterEach
  void stop() {
    if (http != null) {
      http.close();
    }
    if (observability != null) {
      observability.close();
    }
  }

  private URI start(HttpAuth auth, HttpTls tls) throws IOException {
    observability = new Observability();
    http =
        new HttpApi(
            "127.0.0.1", 0, observability, () -> Health.of(Map.of("t", "RUNNING")), auth, tls);
    http.route(
        "/goals/",
        (rest, query) ->
            rest.equals("g1")
                ? HttpApi.Reply.json(200, "{\"goalId\":\"g1\"}")
                : HttpApi.Reply.json(404, "{\"error\":\"no goal " + rest + "\"}"));
    http.start();
    return URI.create(http.scheme() + "://127.0.0.1:" + http.port());
  }

  private static HttpResponse<String> get(HttpClient client, URI uri, String token)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET();
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private double failures(String reason, String route) {
    var c =
        observability
            .registry()
            .find("llmstreams.http.auth.failures")
            .tags("reason", reason, "route", route)
            .counter();
    return c == null ? 0 : c.count();
  }

  @Test
  @SuppressWarnings("try") // the capture is closed, not used
  void eachRouteAsksForItsScopeAndRefusalsAreCountedAndLoggedWithoutTheToken() throws Exception {
    List<String> logged = new CopyOnWriteArrayList<>();
    try (AutoCloseable capture = captureLogs(logged)) {
      URI base = start(HttpAuth.of(TOKENS, Set.of("/health", "/ready")), null);

      HttpResponse<String> none = get(HTTP, base.resolve("/goals/g1"), null);
      assertThat(none.statusCode()).isEqualTo(401);
      assertThat(none.headers().firstValue("WWW-Authenticate"))
          .hasValue("Bearer realm=\"llm-streams\"");
      assertThat(none.headers().firstValue("Content-Type")).hasValue("application/json");

      HttpResponse<String> wrong = get(HTTP, base.resolve("/goals/g1"), READER + "-guess");
      assertThat(wrong.statusCode()).isEqualTo(401);
      assertThat(wrong.headers().firstValue("WWW-Authenticate"))
          .hasValue("Bearer realm=\"llm-streams\", error=\"invalid_token\"");
      assertThat(wrong.body()).doesNotContain(READER);

      assertThat(get(HTTP, base.resolve("/goals/g1"), READER).statusCode()).isEqualTo(200);
      assertThat(get(HTTP, base.resolve("/goals/nope"), READER).statusCode()).isEqualTo(404);
      assertThat(get(HTTP, base.resolve("/goals/g1"), WRITER).statusCode()).isEqualTo(200);

      // /metrics needs the metrics scope: a read token is known but not enough.
      HttpResponse<String> readOnMetrics = get(HTTP, base.resolve("/metrics"), READER);
      assertThat(readOnMetrics.statusCode()).isEqualTo(403);
      assertThat(readOnMetrics.headers().firstValue("WWW-Authenticate"))
          .hasValue(
              "Bearer realm=\"llm-streams\", error=\"insufficient_scope\", scope=\"metrics\"");
      assertThat(readOnMetrics.body()).contains("dashboard").doesNotContain(READER);
      assertThat(get(HTTP, base.resolve("/metrics"), SCRAPER).statusCode()).isEqualTo(200);
      // The metrics token reads no data.
      assertThat(get(HTTP, base.resolve("/goals/g1"), SCRAPER).statusCode()).isEqualTo(403);

      // The probes are open as configured.
      assertThat(get(HTTP, base.resolve("/health"), null).statusCode()).isEqualTo(200);
      assertThat(get(HTTP, base.resolve("/ready"), null).statusCode()).isEqualTo(200);

      assertThat(failures("missing", "/goals/")).isEqualTo(1.0);
      assertThat(failures("invalid", "/goals/")).isEqualTo(1.0);
      assertThat(failures("insufficient_scope", "/metrics")).isEqualTo(1.0);
      assertThat(failures("insufficient_scope", "/goals/")).isEqualTo(1.0);
      HttpResponse<String> scrape = get(HTTP, base.resolve("/metrics"), SCRAPER);
      assertThat(scrape.body())
          .contains("llmstreams_http_auth_failures_total{reason=\"missing\",route=\"/goals/\"}");
    }
    // The first refusal is logged (then at most one line per interval), never with a token.
    assertThat(logged).anySatisfy(l -> assertThat(l).contains("/goals/", "refused", "missing"));
    assertThat(String.join("\n", logged))
        .doesNotContain(READER)
        .doesNotContain(WRITER)
        .doesNotContain(SCRAPER);
  }

  @Test
  void closedProbesNeedAnyValidToken() throws Exception {
    URI base = start(HttpAuth.of(TOKENS, Set.of()), null);
    assertThat(get(HTTP, base.resolve("/health"), null).statusCode()).isEqualTo(401);
    assertThat(get(HTTP, base.resolve("/ready"), "guess").statusCode()).isEqualTo(401);
    assertThat(get(HTTP, base.resolve("/health"), SCRAPER).statusCode()).isEqualTo(200);
    assertThat(failures("missing", "/health")).isEqualTo(1.0);
    assertThat(failures("invalid", "/ready")).isEqualTo(1.0);
  }

  @Test
  void withoutTokensEverythingIsServed() throws Exception {
    URI base = start(HttpAuth.none(), null);
    assertThat(get(HTTP, base.resolve("/goals/g1"), null).statusCode()).isEqualTo(200);
    assertThat(get(HTTP, base.resolve("/metrics"), null).statusCode()).isEqualTo(200);
  }

  @Test
  void httpsFromAKeystore(@TempDir Path dir) throws Exception {
    char[] password = "keystore-password".toCharArray();
    X509Certificate cert = selfSigned(dir.resolve("app.p12"), password);
    AppConfig config =
        AppConfig.of(
            Map.of(
                AppConfig.HTTP_TLS_KEYSTORE_FILE,
                dir.resolve("app.p12").toString(),
                AppConfig.HTTP_TLS_KEYSTORE_PASSWORD_FILE,
                Files.writeString(dir.resolve("pw"), new String(password) + "\n").toString()));
    HttpTls tls = HttpTls.from(config).orElseThrow();
    URI base = start(HttpAuth.of(TOKENS, Set.of("/health")), tls);
    assertThat(base.getScheme()).isEqualTo("https");

    // A client that trusts the certificate (as an operator's would) ...
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("app", cert);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    HttpClient trusting = HttpClient.newBuilder().sslContext(ssl).build();
    assertThat(get(trusting, base.resolve("/goals/g1"), READER).statusCode()).isEqualTo(200);
    assertThat(get(trusting, base.resolve("/goals/g1"), null).statusCode()).isEqualTo(401);
    assertThat(get(trusting, base.resolve("/health"), null).statusCode()).isEqualTo(200);
    // ... and the app's own client, which peers and the MCP tools use, over the name localhost.
    assertThat(
            get(http.client(), URI.create("https://localhost:" + http.port() + "/goals/g1"), READER)
                .statusCode())
        .isEqualTo(200);

    // A client that does not trust it, and plain HTTP to the TLS port, get nothing.
    assertThatThrownBy(() -> get(HTTP, base.resolve("/health"), null))
        .isInstanceOf(IOException.class);
    assertThatThrownBy(
            () -> get(HTTP, URI.create("http://127.0.0.1:" + http.port() + "/health"), null))
        .isInstanceOf(IOException.class);
  }

  @Test
  void aKeystoreThatCannotBeReadIsRefused(@TempDir Path dir) throws Exception {
    selfSigned(dir.resolve("app.p12"), "right-password".toCharArray());
    assertThatThrownBy(
            () ->
                HttpTls.from(
                    AppConfig.of(
                        Map.of(
                            AppConfig.HTTP_TLS_KEYSTORE_FILE,
                            dir.resolve("app.p12").toString(),
                            AppConfig.HTTP_TLS_KEYSTORE_PASSWORD,
                            "wrong-password"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("http.tls.keystore.file")
        .hasMessageNotContaining("wrong-password");
    assertThatThrownBy(
            () ->
                HttpTls.from(
                    AppConfig.of(
                        Map.of(
                            AppConfig.HTTP_TLS_KEYSTORE_FILE,
                            dir.resolve("missing.p12").toString()))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cannot be read");
    assertThat(HttpTls.from(AppConfig.of(Map.of()))).isEmpty();
  }

  /** Writes a PKCS12 keystore with a self-signed EC certificate for localhost and 127.0.0.1. */
  static X509Certificate selfSigned(Path file, char[] password) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(256);
    KeyPair pair = generator.generateKeyPair();
    X500Name name = new X500Name("CN=localhost");
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(
            name,
            BigInteger.valueOf(now.toEpochMilli()),
            Date.from(now.minus(Duration.ofHours(1))),
            Date.from(now.plus(Duration.ofDays(1))),
            name,
            pair.getPublic());
    builder.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(
            new GeneralName[] {
              new GeneralName(GeneralName.dNSName, "localhost"),
              new GeneralName(GeneralName.iPAddress, "127.0.0.1")
            }));
    X509Certificate cert =
        new JcaX509CertificateConverter()
            .getCertificate(
                builder.build(
                    new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setKeyEntry("app", pair.getPrivate(), password, new Certificate[] {cert});
    try (OutputStream out = Files.newOutputStream(file)) {
      store.store(out, password);
    }
    return cert;
  }

  /** Adds every log line of dev.llmstreams to {@code lines} until closed. */
  static AutoCloseable captureLogs(List<String> lines) {
    LoggerContext context = (LoggerContext) LogManager.getContext(false);
    LoggerConfig ours = context.getConfiguration().getLoggerConfig("dev.llmstreams");
    AbstractAppender appender =
        new AbstractAppender(
            "capture-" + System.nanoTime(), null, null, true, Property.EMPTY_ARRAY) {
          @Override
          public void append(LogEvent event) {
            lines.add(event.getMessage().getFormattedMessage());
          }
        };
    appender.start();
    ours.addAppender(appender, Level.ALL, null);
    context.updateLoggers();
    return () -> {
      ours.removeAppender(appender.getName());
      context.updateLoggers();
      appender.stop();
    };
  }
}
