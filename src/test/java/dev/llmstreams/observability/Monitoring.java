package dev.llmstreams.observability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.llmstreams.events.Json;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The files under {@code monitoring/}, the Compose file that mounts them, and the Prometheus tools
 * that check them, for the monitoring tests.
 */
final class Monitoring {
  static final Path ROOT = Path.of("monitoring");
  static final Path PROMETHEUS = ROOT.resolve("prometheus");
  static final Path RULES = PROMETHEUS.resolve("rules");
  static final Path DASHBOARDS = ROOT.resolve("grafana").resolve("dashboards");
  static final Path DATASOURCES =
      ROOT.resolve("grafana").resolve("provisioning").resolve("datasources");
  static final Path TEMPO = ROOT.resolve("tempo").resolve("tempo.yaml");
  static final Path COMPOSE = Path.of("docker-compose.yml");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final String INSTALL_HINT =
      "install Debian's prometheus package (apt-get install prometheus; .ci/run does)";

  private Monitoring() {}

  /** What a command printed (stdout and stderr together) and its exit code. */
  record Run(int exit, String output) {}

  /** An executable on the PATH, if there is one. */
  static Optional<Path> binary(String name) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  static Run run(Duration timeout, String... command) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      // Read before waiting: a full pipe would block the child.
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(
            String.join(" ", command) + " did not finish in " + timeout);
      }
      return new Run(process.exitValue(), output);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static List<Path> ruleFiles() {
    return list(RULES, ".yml");
  }

  static List<Path> dashboardFiles() {
    return list(DASHBOARDS, ".json");
  }

  static JsonNode read(Path json) {
    try {
      return Json.tree(Files.readString(json));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A YAML file (the Compose file, Grafana's provisioning, Tempo's config) as a JSON tree. */
  static JsonNode readYaml(Path yaml) {
    try {
      return YAML.readTree(Files.readString(yaml));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every data source that Grafana's provisioning declares, over all its files. */
  static List<JsonNode> datasources() {
    List<JsonNode> out = new ArrayList<>();
    for (Path file : list(DATASOURCES, ".yml")) {
      readYaml(file).path("datasources").forEach(out::add);
    }
    return out;
  }

  /** Every panel of a dashboard, those inside rows included. */
  static List<JsonNode> panels(JsonNode dashboard) {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      out.add(panel);
      panel.path("panels").forEach(out::add);
    }
    return out;
  }

  /**
   * Metric name to where it is used ("file: panel"), over every Prometheus panel query and variable
   * of every dashboard (Tempo's TraceQL queries read no metric).
   */
  static Map<String, Set<String>> dashboardMetricNames() {
    Map<String, Set<String>> names = new LinkedHashMap<>();
    for (Path file : dashboardFiles()) {
      JsonNode dashboard = read(file);
      for (JsonNode panel : panels(dashboard)) {
        if (!"prometheus".equals(panel.path("datasource").path("uid").asText())) {
          continue;
        }
        for (JsonNode target : panel.path("targets")) {
          String where = file.getFileName() + ": " + panel.path("title").asText();
          PromQlMetricNames.of(target.path("expr").asText())
              .forEach(n -> names.computeIfAbsent(n, k -> new LinkedHashSet<>()).add(where));
        }
      }
      for (JsonNode variable : dashboard.path("templating").path("list")) {
        JsonNode query = variable.path("query");
        String text = query.isObject() ? query.path("query").asText() : query.asText();
        if ("query".equals(variable.path("type").asText())) {
          PromQlMetricNames.ofVariableQuery(text)
              .forEach(
                  n ->
                      names
                          .computeIfAbsent(n, k -> new LinkedHashSet<>())
                          .add(
                              file.getFileName() + ": variable " + variable.path("name").asText()));
        }
      }
    }
    return names;
  }

  private static List<Path> list(Path dir, String suffix) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.toString().endsWith(suffix)).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
