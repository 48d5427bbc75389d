package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Compose stack's tracing wiring, as files: the app sends its spans to Tempo, Prometheus keeps
 * exemplars, and Grafana goes from a latency point (an exemplar) or the controller dashboard to a
 * goal's trace.
 */
class TracingFilesTest {
  private static final JsonNode SERVICES = Monitoring.readYaml(Monitoring.COMPOSE).path("services");

  @Test
  void shouldRunTempoFromAPinnedImageWithItsConfig() {
    JsonNode tempo = SERVICES.path("tempo");
    assertThat(tempo.isObject()).as("a tempo service in " + Monitoring.COMPOSE).isTrue();
    String image = tempo.path("image").asText();
    assertThat(image).as("tempo's image").startsWith("grafana/tempo:");
    String tag = image.substring("grafana/tempo:".length());
    assertThat(tag).as("tempo's image tag").isNotBlank().isNotEqualTo("latest");
    assertThat(tempo.path("command").toString()).contains("-config.file=/etc/tempo/tempo.yaml");
    assertThat(tempo.path("volumes").toString()).contains("./monitoring/tempo:/etc/tempo");

    // OTLP on both ports, from the other containers (not only localhost), into the local store.
    JsonNode config = Monitoring.readYaml(Monitoring.TEMPO);
    JsonNode otlp = config.path("distributor").path("receivers").path("otlp").path("protocols");
    assertThat(otlp.path("grpc").path("endpoint").asText()).isEqualTo("0.0.0.0:4317");
    assertThat(otlp.path("http").path("endpoint").asText()).isEqualTo("0.0.0.0:4318");
    assertThat(config.path("storage").path("trace").path("backend").asText()).isEqualTo("local");
    assertThat(config.path("compactor").path("compaction").path("block_retention").asText())
        .as("retention of traces")
        .isNotBlank();
  }

  @Test
  void shouldSendTheAppsSpansToTempo() {
    List<String> apps = new ArrayList<>();
    SERVICES
        .properties()
        .forEach(
            service -> {
              // This repository's image running the patterns (not the one-shot topics apply).
              JsonNode spec = service.getValue();
              if (spec.has("build") && "run".equals(spec.path("command").path(0).asText())) {
                apps.add(service.getKey());
                Map<String, String> env = environment(spec.path("environment"));
                String where = "environment of " + service.getKey();
                assertThat(env).as(where).containsEntry("OTEL_TRACES_EXPORTER", "otlp");
                assertThat(env)
                    .as(where)
                    .containsEntry("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
                URI endpoint = URI.create(env.getOrDefault("OTEL_EXPORTER_OTLP_ENDPOINT", ""));
                assertThat(endpoint.getHost())
                    .as(where + ": OTLP endpoint's host")
                    .isEqualTo("tempo");
                // http/protobuf goes to Tempo's OTLP/HTTP port.
                assertThat(endpoint.getPort()).as(where + ": OTLP endpoint's port").isEqualTo(4318);
              }
            });
    assertThat(apps).as("services that run the app").contains("app");
  }

  @Test
  void shouldKeepExemplarsInPrometheus() {
    assertThat(SERVICES.path("prometheus").path("command").toString())
        .contains("--enable-feature=exemplar-storage");
  }

  @Test
  void shouldLinkExemplarsToTheirTraceInTempo() {
    List<JsonNode> datasources = Monitoring.datasources();
    assertThat(datasources)
        .as("the Tempo data source")
        .anySatisfy(
            d -> {
              assertThat(d.path("uid").asText()).isEqualTo("tempo");
              assertThat(d.path("type").asText()).isEqualTo("tempo");
              assertThat(d.path("url").asText()).isEqualTo("http://tempo:3200");
            });
    JsonNode prometheus =
        datasources.stream()
            .filter(d -> "prometheus".equals(d.path("uid").asText()))
            .findFirst()
            .orElseThrow();
    assertThat(prometheus.path("jsonData").path("exemplarTraceIdDestinations"))
        .as("the Prometheus data source's exemplar links")
        .anySatisfy(
            link -> {
              assertThat(link.path("name").asText()).isEqualTo("trace_id");
              assertThat(link.path("datasourceUid").asText()).isEqualTo("tempo");
            });
  }

  @Test
  void shouldOpenAGoalsTraceFromTheControllerDashboard() {
    List<JsonNode> panels =
        Monitoring.panels(Monitoring.read(Monitoring.DASHBOARDS.resolve("controller.json")));
    // A latency panel whose points (exemplars) link to traces...
    assertThat(panels)
        .as("a panel showing exemplars of the goal duration")
        .anySatisfy(
            panel ->
                assertThat(panel.path("targets"))
                    .anySatisfy(
                        target -> {
                          assertThat(target.path("exemplar").asBoolean()).isTrue();
                          assertThat(target.path("expr").asText())
                              .contains("llmstreams_controller_goal_duration_seconds_bucket");
                        }));
    // ... and a list of the goals' traces, from Tempo.
    assertThat(panels)
        .as("a panel listing goals' traces from Tempo")
        .anySatisfy(
            panel -> {
              assertThat(panel.path("datasource").path("uid").asText()).isEqualTo("tempo");
              assertThat(panel.path("targets"))
                  .anySatisfy(
                      target -> {
                        assertThat(target.path("queryType").asText()).isEqualTo("traceql");
                        assertThat(target.path("query").asText()).contains("invoke_agent");
                      });
            });
  }

  /** A service's environment, in either of Compose's forms (a map, or a list of NAME=value). */
  private static Map<String, String> environment(JsonNode environment) {
    Map<String, String> env = new HashMap<>();
    if (environment.isArray()) {
      for (JsonNode entry : environment) {
        String[] kv = entry.asText().split("=", 2);
        env.put(kv[0], kv.length > 1 ? kv[1] : "");
      }
    } else {
      environment.properties().forEach(e -> env.put(e.getKey(), e.getValue().asText()));
    }
    return env;
  }
}
