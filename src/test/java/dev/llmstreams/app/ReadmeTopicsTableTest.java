package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.topics.TopicCatalog;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ReadmeTopicsTableTest {
  @Test
  void shouldListEveryCatalogTopicInTheReadmeExactlyAsTheCatalogSays() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    String table = TopicsCommand.markdownTable(TopicCatalog.load());
    assertThat(readme)
        .as("README's topic table is stale: regenerate it with `bin/llm-streams topics list`")
        .contains(table);
    assertThat(table.lines().count()).isEqualTo(2 + TopicCatalog.load().all().size());
  }
}
