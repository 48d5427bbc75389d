package dev.llmstreams.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.config.AppConfig;
import java.util.Map;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

class StreamsSettingsTest {
  @Test
  void interactivePatternsProcessWhatTheyHaveWithoutIdlingForOtherPartitions() {
    Map<String, Object> defaults = StreamsSettings.interactive(AppConfig.of(Map.of()));
    assertThat(defaults)
        .containsEntry(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, -1L)
        .containsEntry(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 5L)
        .containsEntry(StreamsConfig.POLL_MS_CONFIG, 5L);

    Map<String, Object> streamsDefault =
        StreamsSettings.interactive(
            AppConfig.of(Map.of(AppConfig.INTERACTIVE_MAX_TASK_IDLE_MS, "0")));
    assertThat(streamsDefault).containsEntry(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, 0L);
  }
}
