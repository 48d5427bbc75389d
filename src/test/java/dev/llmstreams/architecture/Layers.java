package dev.llmstreams.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaConstructorCall;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.CompositeArchRule;
import com.tngtech.archunit.library.dependencies.SlicesRuleDefinition;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The package layers of llm-streams, bottom to top, as ArchUnit rules (see docs/architecture.md):
 *
 * <ol>
 *   <li>{@code events}: the event records and their serdes; imports nothing of ours.
 *   <li>the foundation: {@code config}, {@code topics}, {@code observability}, {@code broker} and
 *       {@code runtime} (what every pattern needs to run: the module contract, Streams settings,
 *       the tool-worker machinery, token counting, the sentence encoder).
 *   <li>the patterns: {@code llm} (the gateway and its providers), {@code controller}, {@code
 *       summarizer}, {@code specialist}, {@code tools}. They meet only through topics and {@code
 *       events}, never by import.
 *   <li>the entry points: {@code app} (the CLI and the wiring), {@code bench}, {@code chaos}, and
 *       {@code mcpserver} (llm-streams as an MCP server, wired by {@code app}).
 * </ol>
 *
 * Each rule's description is what a build that breaks it prints first.
 */
public final class Layers {
  public static final String ROOT = "dev.llmstreams";
  static final List<String> PATTERNS =
      List.of("llm", "controller", "summarizer", "specialist", "tools");
  static final List<String> FOUNDATION =
      List.of("config", "topics", "observability", "broker", "runtime");
  static final List<String> ENTRY_POINTS = List.of("app", "bench", "chaos", "mcpserver");

  private Layers() {}

  static String[] packages(List<String> names) {
    return names.stream().map(n -> ROOT + "." + n + "..").toArray(String[]::new);
  }

  public static final ArchRule EVENTS_IMPORT_NOTHING_OF_OURS =
      classes()
          .that()
          .resideInAPackage(ROOT + ".events..")
          .should()
          .onlyDependOnClassesThat(
              DescribedPredicate.describe(
                  "are outside dev.llmstreams or in events",
                  (JavaClass c) ->
                      !c.getPackageName().startsWith(ROOT)
                          || c.getPackageName().startsWith(ROOT + ".events")))
          .as("layers: events imports nothing of ours")
          .because("the event records are the contract every pattern and every client shares");

  public static final ArchRule FOUNDATION_DOES_NOT_IMPORT_PATTERNS =
      noClasses()
          .that()
          .resideInAnyPackage(packages(concat(List.of("events"), FOUNDATION)))
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(packages(concat(PATTERNS, ENTRY_POINTS)))
          .as(
              "layers: events, config, topics, observability, broker and runtime import no pattern (llm, controller,"
                  + " summarizer, specialist, tools) and no entry point (app, bench, chaos, mcpserver)")
          .because("what every pattern needs to run sits below the patterns");

  public static final ArchRule PATTERNS_DO_NOT_IMPORT_ENTRY_POINTS =
      noClasses()
          .that()
          .resideInAnyPackage(packages(PATTERNS))
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(packages(ENTRY_POINTS))
          .as(
              "layers: no pattern (llm, controller, summarizer, specialist, tools) imports app, bench, chaos or mcpserver")
          .because("app is the CLI and the wiring; what a pattern needs to run lives in runtime");

  public static final ArchRule PATTERNS_DO_NOT_IMPORT_EACH_OTHER =
      CompositeArchRule.of(PATTERNS.stream().map(Layers::isolated).toList())
          .as(
              "layers: no pattern imports another pattern (they meet only through topics and events)");

  private static ArchRule isolated(String pattern) {
    List<String> others = PATTERNS.stream().filter(p -> !p.equals(pattern)).toList();
    return noClasses()
        .that()
        .resideInAPackage(ROOT + "." + pattern + "..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(packages(others))
        .as("layers: no pattern imports another pattern: " + pattern + " imports none of " + others)
        .because("patterns meet only through topics and events")
        .allowEmptyShould(true); // LayersTest checks that every pattern package is there
  }

  public static final ArchRule NO_CYCLES_BELOW_THE_ENTRY_POINTS =
      SlicesRuleDefinition.slices()
          .matching(ROOT + ".(*)..")
          .that(
              DescribedPredicate.describe(
                  "below the entry points",
                  (com.tngtech.archunit.library.dependencies.Slice s) ->
                      !ENTRY_POINTS.contains(s.getNamePart(1))))
          .should()
          .beFreeOfCycles()
          .as("layers: the packages below app, bench, chaos and mcpserver have no cycles");

  public static final ArchRule ONLY_ENTRY_POINTS_START_STREAMS =
      noClasses()
          .that()
          .resideInAnyPackage(packages(concat(concat(List.of("events"), FOUNDATION), PATTERNS)))
          .should()
          .callConstructorWhere(
              DescribedPredicate.describe(
                  "the constructor of KafkaStreams",
                  (JavaConstructorCall call) ->
                      call.getTargetOwner().isEquivalentTo(KafkaStreams.class)))
          .as(
              "layers: only app, bench, chaos and mcpserver start a KafkaStreams (a pattern builds its topology; the wiring runs it)");

  public static final ArchRule APP_HOLDS_NO_STREAM_PROCESSING =
      noClasses()
          .that()
          .resideInAPackage(ROOT + ".app..")
          .should()
          .implement(org.apache.kafka.streams.processor.api.Processor.class)
          .orShould()
          .implement(org.apache.kafka.streams.processor.api.FixedKeyProcessor.class)
          .as("layers: app is the CLI and the wiring only: no stream processor lives in it");

  public static final List<ArchRule> RULES =
      List.of(
          EVENTS_IMPORT_NOTHING_OF_OURS,
          FOUNDATION_DOES_NOT_IMPORT_PATTERNS,
          PATTERNS_DO_NOT_IMPORT_ENTRY_POINTS,
          PATTERNS_DO_NOT_IMPORT_EACH_OTHER,
          NO_CYCLES_BELOW_THE_ENTRY_POINTS,
          ONLY_ENTRY_POINTS_START_STREAMS,
          APP_HOLDS_NO_STREAM_PROCESSING);

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
