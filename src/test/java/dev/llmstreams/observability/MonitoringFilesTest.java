package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus config and rules as promtool reads them, and the dashboards as Grafana would load
 * them.
 */
class MonitoringFilesTest {
  private static final Duration PROMTOOL_TIMEOUT = Duration.ofSeconds(60);

  private static String promtool() {
    assumeTrue(
        Monitoring.binary("promtool").isPresent(),
        "no promtool on the PATH: " + Monitoring.INSTALL_HINT);
    return Monitoring.binary("promtool").orElseThrow().toString();
  }

  @Test
  void shouldPassPromtoolCheckConfig() {
    Monitoring.Run run =
        Monitoring.run(
            PROMTOOL_TIMEOUT,
            promtool(),
            "check",
            "config",
            Monitoring.PROMETHEUS.resolve("prometheus.yml").toString());
    assertThat(run.exit()).as(run.output()).isZero();
    assertThat(run.output()).contains(Monitoring.ruleFiles().size() + " rule files found");
  }

  @Test
  void shouldPassPromtoolCheckRules() {
    List<String> command = new ArrayList<>(List.of(promtool(), "check", "rules"));
    Monitoring.ruleFiles().forEach(p -> command.add(p.toString()));
    Monitoring.Run run = Monitoring.run(PROMTOOL_TIMEOUT, command.toArray(String[]::new));
    assertThat(run.exit()).as(run.output()).isZero();
  }

  @Test
  void shouldPassThePromtoolUnitTestsOfEveryAlert() {
    Monitoring.Run run =
        Monitoring.run(
            PROMTOOL_TIMEOUT,
            promtool(),
            "test",
            "rules",
            Monitoring.PROMETHEUS
                .resolve("tests")
                .resolve("llmstreams-alerts-test.yml")
                .toString());
    assertThat(run.exit()).as(run.output()).isZero();
  }

  @Test
  void shouldTestEveryAlertFiringAndQuiet() throws Exception {
    String tests =
        java.nio.file.Files.readString(
            Monitoring.PROMETHEUS.resolve("tests").resolve("llmstreams-alerts-test.yml"));
    for (Path file : Monitoring.ruleFiles()) {
      for (String line : java.nio.file.Files.readAllLines(file)) {
        if (line.strip().startsWith("- alert: ")) {
          String alert = line.strip().substring("- alert: ".length());
          String evaluated = "alertname: " + alert + "\n";
          // One case with exp_alerts (firing), one without (quiet).
          assertThat(tests.split(evaluated, -1).length - 1)
              .as("evaluations of " + alert)
              .isGreaterThanOrEqualTo(2);
          assertThat(tests)
              .as("a firing case of " + alert)
              .contains(evaluated + "        exp_alerts:");
          assertThat(tests.replace(evaluated + "        exp_alerts:", ""))
              .as("a quiet case of " + alert)
              .contains(evaluated);
        }
      }
    }
  }

  @Test
  void shouldGiveEveryPanelAUnitAndEveryDashboardItsOwnUid() {
    Set<String> uids = new HashSet<>();
    for (Path file : Monitoring.dashboardFiles()) {
      JsonNode dashboard = Monitoring.read(file);
      assertThat(uids.add(dashboard.path("uid").asText()))
          .as("uid of " + file + " is unique")
          .isTrue();
      for (JsonNode panel : Monitoring.panels(dashboard)) {
        if (panel.path("type").asText().equals("row")) {
          continue;
        }
        String where = file.getFileName() + ": " + panel.path("title").asText();
        assertThat(panel.path("fieldConfig").path("defaults").path("unit").asText())
            .as("unit of " + where)
            .isNotBlank();
        // Prometheus (metrics), or Tempo for a panel that lists traces.
        String datasource = panel.path("datasource").path("uid").asText();
        assertThat(datasource).as("data source of " + where).isIn("prometheus", "tempo");
        assertThat(panel.path("targets")).as("queries of " + where).isNotEmpty();
        for (JsonNode target : panel.path("targets")) {
          assertThat(target.path("datasource").path("uid").asText())
              .as("data source of a query of " + where)
              .isEqualTo(datasource);
        }
      }
    }
    assertThat(uids).hasSize(6);
  }
}
