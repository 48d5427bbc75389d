package dev.llmstreams.architecture;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import dev.llmstreams.controller.LayerBreakingFixture;
import dev.llmstreams.events.EventsBreakingFixture;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The package layers of {@link Layers}, checked on the main classes; and each rule shown to fail on
 * a fixture class under test sources that breaks it, so a rule that can no longer fail does not
 * pass unnoticed.
 */
class LayersTest {
  private static JavaClasses main;

  @BeforeAll
  static void importMainClasses() {
    main =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages(Layers.ROOT);
  }

  static List<ArchRule> rules() {
    return Layers.RULES;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rules")
  void mainCodeKeepsTheRule(ArchRule rule) {
    rule.check(main);
  }

  @Test
  void theMainCodeIsReallyImported() {
    // A rule over no classes passes vacuously; make sure every layer is there.
    for (String pkg :
        List.of(
            "events",
            "config",
            "topics",
            "observability",
            "broker",
            "runtime",
            "controller",
            "summarizer",
            "specialist",
            "tools",
            "llm",
            "app",
            "bench",
            "chaos",
            "mcpserver")) {
      assertThat(main.containPackage(Layers.ROOT + "." + pkg)).as(pkg).isTrue();
    }
  }

  @Test
  void aPatternImportingTheCliOrAnotherPatternFailsWithTheRulesNames() {
    JavaClasses fixture = new ClassFileImporter().importClasses(LayerBreakingFixture.class);
    assertFails(Layers.PATTERNS_DO_NOT_IMPORT_ENTRY_POINTS, fixture, "dev.llmstreams.app.Main");
    assertFails(
        Layers.PATTERNS_DO_NOT_IMPORT_EACH_OTHER, fixture, "dev.llmstreams.summarizer.Chunker");
    assertFails(Layers.ONLY_ENTRY_POINTS_START_STREAMS, fixture, "KafkaStreams.<init>");
  }

  @Test
  void eventsImportingATopicFailsWithTheRulesName() {
    JavaClasses fixture = new ClassFileImporter().importClasses(EventsBreakingFixture.class);
    assertFails(Layers.EVENTS_IMPORT_NOTHING_OF_OURS, fixture, "dev.llmstreams.topics.Topics");
    assertFails(
        Layers.FOUNDATION_DOES_NOT_IMPORT_PATTERNS,
        fixture,
        "dev.llmstreams.controller.ControllerModule");
  }

  @Test
  void anEventImportingTheTopicsThatImportEventsIsACycle() {
    JavaClasses fixture =
        new ClassFileImporter()
            .importClasses(
                EventsBreakingFixture.class,
                dev.llmstreams.topics.Topics.class,
                dev.llmstreams.events.Goal.class);
    assertFails(Layers.NO_CYCLES_BELOW_THE_ENTRY_POINTS, fixture, "Cycle detected");
  }

  @Test
  void aProcessorInAppFailsWithTheRulesName() throws ClassNotFoundException {
    JavaClasses fixture =
        new ClassFileImporter()
            .importClasses(Class.forName("dev.llmstreams.app.AppProcessorFixture"));
    assertFails(Layers.APP_HOLDS_NO_STREAM_PROCESSING, fixture, "AppProcessorFixture");
  }

  private static void assertFails(ArchRule rule, JavaClasses classes, String offendingTarget) {
    EvaluationResult result = rule.evaluate(classes);
    assertThat(result.hasViolation()).as(rule.getDescription()).isTrue();
    String report = result.getFailureReport().toString();
    assertThat(report).contains(rule.getDescription()).contains(offendingTarget);
  }
}
