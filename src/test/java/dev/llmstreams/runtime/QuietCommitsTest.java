package dev.llmstreams.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.junit.jupiter.api.Test;

class QuietCommitsTest {
  private static MockProcessorContext<Object, Object> context(Object quietMs) {
    Properties props = new Properties();
    props.put("application.id", "quiet-test");
    props.put("bootstrap.servers", "unused:9092");
    if (quietMs != null) {
      props.put(QuietCommits.QUIET_MS, quietMs);
    }
    return new MockProcessorContext<>(props);
  }

  @Test
  void shouldAskForACommitOnlyForAnOutputAfterAQuietSpell() {
    MockProcessorContext<Object, Object> context = context(20L);
    QuietCommits commits = QuietCommits.of(context);

    commits.wrote(context, 1_000); // the first output: nothing came before it
    assertThat(context.committed()).isTrue();
    context.resetCommit();

    commits.wrote(context, 1_005); // under load: the commit interval decides
    commits.wrote(context, 1_019);
    assertThat(context.committed()).isFalse();

    commits.wrote(context, 1_039); // 20 ms after the last one
    assertThat(context.committed()).isTrue();
  }

  @Test
  void shouldNeverAskWhenOffOrNotConfigured() {
    for (Object setting : new Object[] {0L, "0", null}) {
      MockProcessorContext<Object, Object> context = context(setting);
      QuietCommits commits = QuietCommits.of(context);
      commits.wrote(context, 1_000);
      commits.wrote(context, 60_000);
      assertThat(context.committed()).as("quiet.ms %s", setting).isFalse();
    }
  }

  @Test
  void shouldCarryTheSettingToTheInteractivePatterns() {
    var overrides =
        StreamsSettings.interactive(
            dev.llmstreams.config.AppConfig.of(
                java.util.Map.of(
                    dev.llmstreams.config.AppConfig.INTERACTIVE_COMMIT_QUIET_MS, "35")));
    assertThat(overrides).containsEntry(QuietCommits.QUIET_MS, 35L);
  }
}
