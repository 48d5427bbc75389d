package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The configuration of a replay run: the model a candidate names is the one asked for. */
class ReplayRunConfigTest {
  @TempDir Path state;

  @Test
  void shouldAskForTheCandidatesModelEvenWhenTheRouteNamesOne() {
    AppConfig production =
        AppConfig.of(Map.of(AppConfig.route("controller"), "openai:gpt-4o-mini,offline"));
    Map<String, String> candidate = new HashMap<>();
    AppConfig run =
        ReplayCommand.runConfig(
            production, "r1", state, "controller", null, "gpt-4o", null, Map.of(), candidate);
    assertThat(run.routeStepsOf("controller"))
        .containsExactly(
            new AppConfig.RouteStep("openai", "gpt-4o"), new AppConfig.RouteStep("offline", null));
    assertThat(candidate).containsEntry("model", "openai/gpt-4o");

    AppConfig plain =
        ReplayCommand.runConfig(
            AppConfig.of(Map.of(AppConfig.route("controller"), "openai")),
            "r2",
            state,
            "controller",
            null,
            "gpt-4o",
            null,
            Map.of(),
            new HashMap<>());
    assertThat(plain.routeStepsOf("controller"))
        .containsExactly(new AppConfig.RouteStep("openai", null));
    assertThat(plain.getString(AppConfig.provider("openai", "model"))).isEqualTo("gpt-4o");
  }
}
