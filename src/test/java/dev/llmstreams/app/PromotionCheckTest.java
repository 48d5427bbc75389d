package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.LabelEvent.Source;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * train --publish's gate judges a candidate by the labels of the sources the in-app trainer learns
 * from (specialist.learn.from): by default people's and the LLM's, not the offline engine's.
 */
class PromotionCheckTest {
  @Test
  void judgesByTheSourcesOfLearnFrom() {
    assertThat(PromotionCheck.judgedBy(AppConfig.of(Map.of())))
        .containsExactlyInAnyOrder(Source.HUMAN, Source.LLM);
    assertThat(
            PromotionCheck.judgedBy(AppConfig.of(Map.of(AppConfig.SPECIALIST_LEARN_FROM, "human"))))
        .containsExactly(Source.HUMAN);
    assertThat(
            PromotionCheck.judgedBy(
                AppConfig.of(
                    Map.of(AppConfig.SPECIALIST_LEARN_FROM, "human, llm ,offline-engine"))))
        .containsExactlyInAnyOrder(Source.HUMAN, Source.LLM, Source.OFFLINE_ENGINE);
    assertThat(Source.OFFLINE_ENGINE.id()).isEqualTo("offline-engine");
    assertThatThrownBy(() -> Source.of("robots")).hasMessageContaining("robots");
  }
}
