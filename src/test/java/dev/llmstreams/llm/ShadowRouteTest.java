package dev.llmstreams.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.config.AppConfig;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

/** Shadow routes from {@code llm.shadow.*}, checked at load, and their sampling by requestId. */
class ShadowRouteTest {

  @Test
  void shouldHaveNoShadowByDefault() {
    assertThat(ShadowRoute.configured(AppConfig.of(Map.of()), Map.of())).isEmpty();
    // A route alone samples nothing: the share is 0 until set.
    assertThat(
            ShadowRoute.configured(
                AppConfig.of(Map.of(AppConfig.shadow("default", "route"), "anthropic")), Map.of()))
        .isEmpty();
  }

  @Test
  void shouldGiveEveryPurposeTheDefaultShadowUnlessItNamesItsOwnOrSamplesNothing() {
    AppConfig config =
        AppConfig.of(
            Map.of(
                AppConfig.shadow("default", "route"),
                "anthropic",
                AppConfig.shadow("default", "sample"),
                "0.1",
                AppConfig.shadow("default", "model"),
                "claude-candidate",
                AppConfig.shadow("summarizer", "sample"),
                "0",
                AppConfig.shadow("controller", "route"),
                "openai",
                AppConfig.shadow("controller", "model"),
                "gpt-candidate",
                AppConfig.shadow("controller", "sample"),
                "0.5",
                AppConfig.shadow("controller", "price.output.per.mtok"),
                "12",
                AppConfig.provider("openai", "price.input.per.mtok"),
                "2",
                AppConfig.LLM_SHADOW_CONCURRENCY,
                "3"));
    Map<String, ShadowRoute> routes = ShadowRoute.configured(config, Map.of());
    assertThat(routes).containsOnlyKeys("controller", "specialist");

    ShadowRoute controller = routes.get("controller");
    assertThat(controller.scope()).isEqualTo("controller");
    assertThat(controller.provider()).isEqualTo("openai");
    assertThat(controller.model()).isEqualTo("gpt-candidate");
    assertThat(controller.sample()).isEqualTo(0.5);
    // Its own output price, the provider's input price; its own slots and no rate limit.
    assertThat(controller.candidate().priceInputPerMtok()).isEqualTo(2.0);
    assertThat(controller.candidate().priceOutputPerMtok()).isEqualTo(12.0);
    assertThat(controller.candidate().concurrency()).isEqualTo(3);
    assertThat(controller.candidate().interactiveReserved()).isZero();
    assertThat(controller.candidate().requestsPerMinute()).isZero();

    ShadowRoute specialist = routes.get("specialist");
    assertThat(specialist.scope()).isEqualTo("default");
    assertThat(specialist.provider()).isEqualTo("anthropic");
    assertThat(specialist.model()).isEqualTo("claude-candidate");
    assertThat(specialist.sample()).isEqualTo(0.1);
  }

  @Test
  void shouldAskTheProvidersModelWhenTheShadowNamesNone() {
    ShadowRoute route =
        ShadowRoute.configured(
                AppConfig.of(
                    Map.of(
                        AppConfig.shadow("specialist", "route"), "openai",
                        AppConfig.shadow("specialist", "sample"), "1",
                        AppConfig.provider("openai", "model"), "gpt-4.1-mini")),
                Map.of())
            .get("specialist");
    assertThat(route.model()).isEqualTo("gpt-4.1-mini");
    assertThat(route.samples("any-id")).isTrue();
  }

  @Test
  void shouldRefuseAnUnknownProviderWithTheKeyAndTheKnownOnes() {
    assertThatThrownBy(() -> AppConfig.of(Map.of(AppConfig.shadow("controller", "route"), "gpt5")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("llm.shadow.controller.route")
        .hasMessageContaining("gpt5")
        .hasMessageContaining("unknown provider for a shadow route")
        .hasMessageContaining("openai, anthropic, offline");
  }

  @Test
  void shouldRefuseASampleWithNoRouteAndSettingsARouteWouldIgnore() {
    assertThatThrownBy(() -> AppConfig.of(Map.of(AppConfig.shadow("controller", "sample"), "0.3")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("llm.shadow.controller.sample")
        .hasMessageContaining("no shadow route is set")
        .hasMessageContaining("llm.shadow.controller.route or llm.shadow.default.route");
    assertThatThrownBy(() -> AppConfig.of(Map.of(AppConfig.shadow("default", "sample"), "0.3")))
        .hasMessageContaining("llm.shadow.default.sample");
    assertThatThrownBy(
            () ->
                AppConfig.of(
                    Map.of(
                        AppConfig.shadow("default", "route"), "openai",
                        AppConfig.shadow("summarizer", "model"), "gpt-4.1")))
        .hasMessageContaining("llm.shadow.summarizer.model")
        .hasMessageContaining("needs llm.shadow.summarizer.route");
    assertThatThrownBy(() -> AppConfig.of(Map.of(AppConfig.shadow("default", "model"), "x")))
        .hasMessageContaining("needs llm.shadow.default.route");
    assertThatThrownBy(() -> AppConfig.of(Map.of(AppConfig.shadow("specialist", "sample"), "1.5")))
        .hasMessageContaining("llm.shadow.specialist.sample")
        .hasMessageContaining("-1 (unset) or between 0.0 and 1.0");
    assertThatThrownBy(
            () -> AppConfig.of(Map.of(AppConfig.shadow("default", "price.input.per.mtok"), "-2")))
        .hasMessageContaining("llm.shadow.default.price.input.per.mtok");
  }

  @Test
  void shouldSampleTheConfiguredShareOfAnyIdsTheSameWayEveryTime() {
    int n = 100_000;
    for (String shape : new String[] {"goal-%d/3/llm", "%d", "evt-%08x"}) {
      List<String> ids = IntStream.range(0, n).mapToObj(i -> String.format(shape, i)).toList();
      for (double sample : new double[] {0.01, 0.1, 0.3, 0.5, 0.9}) {
        ShadowRoute route = new ShadowRoute("controller", "default", null, sample);
        long sampled = ids.stream().filter(route::samples).count();
        // 4 standard deviations of a binomial share at n = 100,000: at most 0.0063.
        assertThat((double) sampled / n)
            .as("share of %s ids sampled at %s", shape, sample)
            .isCloseTo(sample, org.assertj.core.data.Offset.offset(0.0065));
      }
    }
    assertThat(ShadowRoute.position("goal-7/2/llm"))
        .isEqualTo(ShadowRoute.position("goal-7/2/llm"))
        .isBetween(0.0, 1.0);
  }

  @Test
  void shouldKeepTheRequestsOfASmallerShareInALargerOne() {
    ShadowRoute small = new ShadowRoute("controller", "default", null, 0.1);
    ShadowRoute large = new ShadowRoute("controller", "default", null, 0.4);
    IntStream.range(0, 10_000)
        .mapToObj(i -> "r-" + i)
        .filter(small::samples)
        .forEach(id -> assertThat(large.samples(id)).as(id).isTrue());
    assertThat(new ShadowRoute("controller", "default", null, 1.0).samples("r-1")).isTrue();
  }
}
