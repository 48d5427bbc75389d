package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.config.AppConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import org.apache.kafka.common.config.ConfigDef;
import org.junit.jupiter.api.Test;

/**
 * The reference pages under docs/ are what the code generates ({@link ReferenceDocs}); the meters
 * page is checked by PrometheusIT, which runs the app. Run with {@code -Ddocs.write=true} to
 * rewrite them.
 */
class ReferenceDocsTest {
  @Test
  void configurationPageShouldMatchTheConfigDefinition() {
    GeneratedDocs.check(
        ReferenceDocs.CONFIGURATION, ReferenceDocs.configuration(), ReferenceDocs.REGENERATE);
  }

  @Test
  void topicsPageShouldMatchTheCatalog() {
    GeneratedDocs.check(ReferenceDocs.TOPICS, ReferenceDocs.topics(), ReferenceDocs.REGENERATE);
  }

  @Test
  void cliPageShouldMatchTheCommands() {
    GeneratedDocs.check(ReferenceDocs.CLI, ReferenceDocs.cli(), ReferenceDocs.REGENERATE);
  }

  @Test
  void securityAclSectionShouldMatchTheAclPlan() {
    checkSection(
        ReferenceDocs.SECURITY,
        ReferenceDocs.ACLS_BEGIN,
        ReferenceDocs::security,
        ReferenceDocs::aclsSectionOf,
        ReferenceDocs.aclsSection());
  }

  @Test
  void promptsSectionShouldMatchTheShippedPrompts() {
    String section =
        checkSection(
            ReferenceDocs.PROMPTS,
            ReferenceDocs.PROMPTS_BEGIN,
            ReferenceDocs::prompts,
            ReferenceDocs::promptsSectionOf,
            ReferenceDocs.promptsSection());
    if (section != null) {
      assertThat(section).contains("`controller.system`", "`{{labels}}`", "`{{examples}}`");
    }
  }

  /**
   * The generated section (from {@code begin}) of the committed page {@code page} is {@code
   * expected}; with {@code -Ddocs.write=true}, rewrites it instead. Returns the committed section
   * (null when rewriting).
   */
  private static String checkSection(
      String page,
      String begin,
      java.util.function.UnaryOperator<String> rewrite,
      java.util.function.UnaryOperator<String> sectionOf,
      String expected) {
    Path file = Path.of(page);
    String committed = GeneratedDocs.read(file);
    if (GeneratedDocs.writing()) {
      GeneratedDocs.write(file, rewrite.apply(committed));
      return null;
    }
    String section = sectionOf.apply(committed);
    assertThat(section).as(page + " has no section between " + begin).isNotNull();
    GeneratedDocs.mismatch(
            page + " (section " + begin + ")", section, expected, ReferenceDocs.REGENERATE)
        .ifPresent(org.assertj.core.api.Assertions::fail);
    return section;
  }

  @Test
  void architectureTopologySectionShouldMatchTheTopologies() {
    Path file = Path.of(ReferenceDocs.ARCHITECTURE);
    String committed = GeneratedDocs.read(file);
    if (GeneratedDocs.writing()) {
      GeneratedDocs.write(
          file, ReferenceDocs.architecture(committed)); // only the section between the markers
      return;
    }
    assertThat(committed)
        .as(
            ReferenceDocs.ARCHITECTURE
                + " is missing; create it with `"
                + ReferenceDocs.REGENERATE
                + "`")
        .isNotNull();
    String section = ReferenceDocs.topologySectionOf(committed);
    assertThat(section)
        .as(
            ReferenceDocs.ARCHITECTURE
                + " has no section between "
                + ReferenceDocs.TOPOLOGY_BEGIN
                + " and "
                + ReferenceDocs.TOPOLOGY_END)
        .isNotNull();
    GeneratedDocs.mismatch(
            ReferenceDocs.ARCHITECTURE + " (section " + ReferenceDocs.TOPOLOGY_BEGIN + ")",
            section,
            ReferenceDocs.topologySection(),
            ReferenceDocs.REGENERATE)
        .ifPresent(org.assertj.core.api.Assertions::fail);
  }

  /**
   * The test of the test: a key more in the definition makes a page the comparison refuses, naming
   * file and remedy.
   */
  @Test
  void shouldRefuseAConfigurationPageOfAnotherDefinition() {
    ConfigDef more =
        new ConfigDef(AppConfig.DEFINITION)
            .define(
                "zz.extra.key",
                ConfigDef.Type.INT,
                7,
                ConfigDef.Importance.LOW,
                "A key the app does not have.");
    String page = ReferenceDocs.configuration(more);
    assertThat(page).contains("`zz.extra.key`<br>`LLMSTREAMS_ZZ_EXTRA_KEY`");
    assertThat(
            GeneratedDocs.mismatch(
                ReferenceDocs.CONFIGURATION,
                ReferenceDocs.configuration(),
                page,
                ReferenceDocs.REGENERATE))
        .hasValueSatisfying(
            message ->
                assertThat(message)
                    .contains(
                        ReferenceDocs.CONFIGURATION, "zz.extra.key", ReferenceDocs.REGENERATE));
    assertThat(
            GeneratedDocs.mismatch(
                ReferenceDocs.CONFIGURATION, page, page, ReferenceDocs.REGENERATE))
        .isEmpty();
  }

  @Test
  void shouldSayTheProviderSpecificPartOfADescriptionOnce() {
    java.util.Map<String, String> docs = new java.util.LinkedHashMap<>();
    docs.put("openai", "Slots; -1: rounded up (8 with the default); 0: none.");
    docs.put("offline", "Slots; -1: rounded up (1 with the default); 0: none.");
    assertThat(ReferenceDocs.merged(docs))
        .isEqualTo("Slots; -1: rounded up (8 (openai), 1 (offline) with the default); 0: none.");
    docs.put("openai", "Slots; -1: rounded up (1 with the default); 0: none.");
    assertThat(ReferenceDocs.merged(docs))
        .isEqualTo("Slots; -1: rounded up (1 with the default); 0: none.");
  }

  /**
   * The meters page (made by PrometheusIT from a running app): Prometheus names from the scrape,
   * tag keys only.
   */
  @Test
  void shouldListMetersWithTheirPrometheusSeriesAndRefuseOneWithoutDescription() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Counter.builder("llmstreams.llm.tokens")
        .description("Tokens billed")
        .baseUnit("tokens")
        .tags("provider", "openai", "direction", "input")
        .register(registry)
        .increment();
    Counter.builder("llmstreams.summarizer.tokens.ingested")
        .description("Tokens in")
        .baseUnit("tokens")
        .register(registry);
    Timer.builder("llmstreams.tools.duration")
        .description("Time | of a call")
        .tag("tool", "calculator")
        .register(registry);
    Counter.builder("jvm.not.ours").register(registry);
    String page = ReferenceDocs.meters(registry);
    assertThat(page)
        .contains(
            "| `llmstreams.llm.tokens` | `llmstreams_llm_tokens_total` | counter | tokens | `direction`, `provider` |")
        .contains("`llmstreams_summarizer_tokens_ingested_tokens_total`")
        .contains(
            "`llmstreams_tools_duration_seconds_count`<br>`llmstreams_tools_duration_seconds_max`")
        .contains("Time \\| of a call")
        .doesNotContain("openai", "calculator", "jvm.not.ours");

    Gauge.builder("llmstreams.undescribed", () -> 1).register(registry);
    assertThatThrownBy(() -> ReferenceDocs.meters(registry))
        .hasMessageContaining("llmstreams.undescribed");
  }

  @Test
  void shouldShowNoValueOfThisMachine() {
    String home = System.getProperty("user.home");
    String cwd = Path.of("").toAbsolutePath().toString();
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      host = null;
    }
    for (String page :
        new String[] {
          ReferenceDocs.configuration(),
          ReferenceDocs.topics(),
          ReferenceDocs.cli(),
          ReferenceDocs.topologySection()
        }) {
      assertThat(page)
          .doesNotContain(cwd)
          .doesNotContain(home)
          .doesNotContainPattern(
              "[\\w$]+\\.[\\w$]+@[0-9a-f]{5,}|\\$\\$Lambda"); // an object's identity hash
      if (host != null && !host.equals("localhost") && host.length() > 3) {
        assertThat(page).doesNotContain(host);
      }
      assertThat(page).endsWith("\n");
    }
    assertThat(ReferenceDocs.configuration()).startsWith("# Configuration\n\n_Generated from ");
  }
}
