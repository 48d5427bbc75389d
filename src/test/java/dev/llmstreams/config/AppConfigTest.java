package dev.llmstreams.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppConfigTest {
  @TempDir Path dir;

  @Test
  void shouldDefaultToLoopbackHttpAndTheLocalBroker() {
    AppConfig config = AppConfig.load(null, Map.of(), Map.of());
    assertThat(config.getString(AppConfig.HTTP_HOST)).isEqualTo("127.0.0.1");
    assertThat(config.getInt(AppConfig.HTTP_PORT)).isEqualTo(9400);
    assertThat(config.bootstrapServers()).isEqualTo("127.0.0.1:9092");
    assertThat(config.usesExternalCluster()).isFalse();
    assertThat(config.getString(AppConfig.PROCESSING_GUARANTEE)).isEqualTo("exactly_once_v2");
  }

  @Test
  void shouldLayerDefaultsThenFileThenEnvironment() throws Exception {
    Path file = dir.resolve("app.properties");
    Files.writeString(file, "http.port=9500\nkafka.port=19092\napplication.id=from-file\n");
    AppConfig config = AppConfig.load(file, Map.of("LLMSTREAMS_HTTP_PORT", "9600"), Map.of());
    assertThat(config.getInt(AppConfig.HTTP_PORT)).isEqualTo(9600);
    assertThat(config.getInt(AppConfig.KAFKA_PORT)).isEqualTo(19092);
    assertThat(config.bootstrapServers()).isEqualTo("127.0.0.1:19092");
    assertThat(config.getString(AppConfig.APPLICATION_ID)).isEqualTo("from-file");
    assertThat(config.describe().get(AppConfig.HTTP_PORT)).contains("env LLMSTREAMS_HTTP_PORT");
  }

  @Test
  void shouldLetKafkaBootstrapNameAnExistingCluster() {
    AppConfig config =
        AppConfig.load(null, Map.of("KAFKA_BOOTSTRAP", "broker-1:9092,broker-2:9092"), Map.of());
    assertThat(config.bootstrapServers()).isEqualTo("broker-1:9092,broker-2:9092");
    assertThat(config.usesExternalCluster()).isTrue();
    assertThat(config.clientProperties())
        .containsEntry("bootstrap.servers", "broker-1:9092,broker-2:9092");
  }

  @Test
  void shouldRefuseAnUnknownKeyByName() throws Exception {
    Path file = dir.resolve("typo.properties");
    Files.writeString(file, "http.prot=9500\n");
    assertThatThrownBy(() -> AppConfig.load(file, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown configuration key 'http.prot'")
        .hasMessageContaining("did you mean 'http.port'?");
    Files.writeString(file, "specialist.treshold=0.8\n");
    assertThatThrownBy(() -> AppConfig.load(file, Map.of(), Map.of()))
        .hasMessageStartingWith(
            "unknown configuration key 'specialist.treshold' in "
                + file
                + "; did you mean 'specialist.threshold'?; known keys nearby: ");
    // Nothing near enough: no guess, the keys of its prefix only.
    Files.writeString(file, "specialist.colour=red\n");
    assertThatThrownBy(() -> AppConfig.load(file, Map.of(), Map.of()))
        .hasMessageNotContaining("did you mean")
        .hasMessageContaining("known keys nearby: specialist.");
    assertThatThrownBy(() -> AppConfig.load(null, Map.of("LLMSTREAMS_HTTP_PROT", "1"), Map.of()))
        .hasMessageContaining("'http.prot'")
        .hasMessageContaining("LLMSTREAMS_HTTP_PROT");
  }

  @Test
  void shouldRefuseABadValueNamingTheKey() {
    assertThatThrownBy(
            () -> AppConfig.load(null, Map.of("LLMSTREAMS_HTTP_PORT", "eighty"), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("http.port")
        .hasMessageContaining("eighty");
    assertThatThrownBy(() -> AppConfig.of(Map.of("kafka.port", "70000")))
        .hasMessageContaining("kafka.port");
    assertThatThrownBy(() -> AppConfig.of(Map.of("processing.guarantee", "maybe_once")))
        .hasMessageContaining("processing.guarantee");
    assertThatThrownBy(() -> AppConfig.of(Map.of("patterns", "controller,teleporter")))
        .hasMessageContaining("patterns")
        .hasMessageContaining("teleporter");
    assertThatThrownBy(
            () ->
                AppConfig.of(
                    Map.of(
                        "summarizer.chunk.tokens", "100", "summarizer.chunk.overlap.tokens", "60")))
        .hasMessageContaining("summarizer.chunk.overlap.tokens");
  }

  @Test
  void shouldPassClientSecuritySettingsThroughAndNeverShowSecrets() {
    AppConfig config =
        AppConfig.load(
            null,
            Map.of(
                "LLMSTREAMS_KAFKA_CLIENT_SECURITY_PROTOCOL",
                "SASL_SSL",
                "LLMSTREAMS_KAFKA_CLIENT_SASL_MECHANISM",
                "PLAIN",
                "LLMSTREAMS_KAFKA_CLIENT_SASL_JAAS_CONFIG",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"hunter2\";"),
            Map.of());
    assertThat(config.clientProperties())
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "PLAIN")
        .containsKey("sasl.jaas.config");
    assertThat(config.describe().toString()).doesNotContain("hunter2").contains("[hidden]");
  }

  @Test
  void shouldReadAModelInARouteEntryAndRouteARepairAsTheControllerUnlessItHasItsOwn() {
    String repairRoute = AppConfig.route(AppConfig.CONTROLLER_REPAIR);
    AppConfig config =
        AppConfig.of(
            Map.of(
                repairRoute,
                " openai:llama3:8b , anthropic ",
                AppConfig.route("controller"),
                "openai:gpt-4o-mini"));
    assertThat(config.routeStepsOf("controller"))
        .containsExactly(new AppConfig.RouteStep("openai", "gpt-4o-mini"));
    assertThat(config.routeStepsOf(AppConfig.CONTROLLER_REPAIR))
        .as("split at the first ':'")
        .containsExactly(
            new AppConfig.RouteStep("openai", "llama3:8b"),
            new AppConfig.RouteStep("anthropic", null));
    assertThat(config.routeOf(AppConfig.CONTROLLER_REPAIR)).containsExactly("openai", "anthropic");
    assertThat(config.routeStepsOf("summarizer"))
        .containsExactly(new AppConfig.RouteStep("offline", null));

    AppConfig noRepairRoute =
        AppConfig.of(Map.of(AppConfig.route("controller"), "openai:gpt-4o-mini,offline"));
    assertThat(noRepairRoute.routeStepsOf(AppConfig.CONTROLLER_REPAIR))
        .as("a repair without a route of its own goes as any controller turn")
        .isEqualTo(noRepairRoute.routeStepsOf("controller"));
    assertThat(AppConfig.of(Map.of()).routeStepsOf(AppConfig.CONTROLLER_REPAIR))
        .containsExactly(new AppConfig.RouteStep("offline", null));

    assertThat(AppConfig.routeName("controller.repair")).isEqualTo("controller.repair");
    assertThat(AppConfig.routeName("controller.plan")).isEqualTo("controller");
    assertThat(AppConfig.routeName("summarizer.chunk")).isEqualTo("summarizer");
  }

  @Test
  void shouldRefuseARouteEntryWithAnUnknownProviderOrNoModelAfterItsColon() {
    assertThatThrownBy(
            () -> AppConfig.of(Map.of(AppConfig.route(AppConfig.CONTROLLER_REPAIR), "mistral:big")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown provider 'mistral'");
    assertThatThrownBy(() -> AppConfig.of(Map.of(AppConfig.route("controller"), "openai:")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("name a model after 'openai:'");
    assertThatThrownBy(
            () ->
                AppConfig.of(
                    Map.of(AppConfig.LLM_ROUTE_DEFAULT, "openai:gpt-4o-mini,openai:gpt-4o")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("a provider may appear once");
  }
}
