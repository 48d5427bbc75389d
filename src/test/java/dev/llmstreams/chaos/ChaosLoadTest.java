package dev.llmstreams.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.specialist.model.LabeledText;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChaosLoadTest {
  private static final List<LabeledText> QUESTIONS =
      List.of(
          new LabeledText("where is my card", "card_arrival"),
          new LabeledText("my top-up failed", "top_up_failed"));

  private static ChaosLoad load(int goals, int documents, int requests) {
    return new ChaosLoad(
        "run1", goals, documents, requests, QUESTIONS, 3, Instant.parse("2026-11-28T10:00:00Z"));
  }

  @Test
  void everyInputHasAUniqueIdAndGoalsTakeTheToolsInTurn() {
    ChaosLoad load = load(10, 120, 7);

    List<ChaosLoad.Item> items = load.inputs("goals", "documents", "requests", new Random(1));
    assertThat(items).hasSize(137);
    assertThat(new HashSet<>(items.stream().map(ChaosLoad.Item::id).toList())).hasSize(137);
    assertThat(load.goalTools.subList(0, 5)).containsExactlyElementsOf(ChaosLoad.TOOLS);
    // At most DOCS_PER_KEY documents per key, so a synthesis can list every one of them.
    assertThat(load.documentKeys).hasSize(3);
    assertThat(
            load.keyOfDocument.values().stream().filter(load.documentKeys.get(0)::equals).count())
        .isLessThanOrEqualTo(ChaosLoad.DOCS_PER_KEY);
  }

  @Test
  void theToolScriptAimsEachGoalsCallFromTheGoalIdInItsText() throws Exception {
    ChaosLoad load = load(5, 10, 0);
    String goal = load.goals.get(1).goal();
    JsonNode messages =
        Json.tree(
            "[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":"
                + Json.writer().writeValueAsString(goal)
                + "}]");

    assertThat(ChaosLoad.goalIdIn(messages)).isEqualTo("run1-g-000001");
    try (FetchCounter fetches = new FetchCounter()) {
      assertThat(load.toolArguments("http_get", messages, fetches, "out").path("url").asText())
          .endsWith("/page?call=run1-g-000001");
      JsonNode publish = load.toolArguments("publish", messages, fetches, "out");
      assertThat(publish.path("topic").asText()).isEqualTo("out");
      assertThat(publish.path("record").path("goalId").asText()).isEqualTo("run1-g-000001");
      assertThat(load.documentKeys)
          .contains(load.toolArguments("synthesis", messages, fetches, "out").path("key").asText());
      assertThat(load.toolArguments("calculator", messages, fetches, "out")).isNull();
    }
  }
}
