package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run} refuses a {@code prompts.dir} the patterns could not use before it asks Kafka
 * anything (so without a broker), in one line that names the file; the loading rules are in {@code
 * PromptsTest}.
 */
class PromptsStartupTest {
  @Test
  void runRefusesAPromptFolderItCannotUseInOneLine(@TempDir Path dir) throws Exception {
    Path prompts = Files.createDirectories(dir.resolve("prompts"));
    Files.writeString(prompts.resolve("controller.plan.md"), "You plan.\n");
    Path config =
        Files.writeString(
            dir.resolve("app.properties"),
            "kafka.bootstrap=127.0.0.1:1\nprompts.dir=" + prompts + "\n");
    CliRun unknown = CliRun.of("--config", config.toString(), "run");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err())
        .startsWith("llm-streams: prompts: prompts.dir")
        .contains("controller.plan.md is not a known prompt", "controller.system")
        .doesNotContain("Exception");

    Files.delete(prompts.resolve("controller.plan.md"));
    Files.writeString(prompts.resolve("specialist.escalate.md"), "Pick a label.\n{{labels}}\n");
    CliRun lacking = CliRun.of("--config", config.toString(), "run");
    assertThat(lacking.exit()).isEqualTo(2);
    assertThat(lacking.err()).contains("specialist.escalate.md lacks placeholder {{examples}}");
  }
}
