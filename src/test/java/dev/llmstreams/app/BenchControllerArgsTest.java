package dev.llmstreams.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmstreams.bench.ControllerBench;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code --in-flight}, {@code --profile} and {@code --compare} of {@code bench controller}, parsed,
 * not run.
 */
class BenchControllerArgsTest {
  private static ControllerBench.Options options(String... args) {
    String[] all = new String[args.length + 2];
    all[0] = "bench";
    all[1] = "controller";
    System.arraycopy(args, 0, all, 2, args.length);
    CommandLine.ParseResult result = Main.commandLine(all).parseArgs(all);
    return ((BenchCommand.Controller) result.subcommand().subcommand().commandSpec().userObject())
        .options();
  }

  @Test
  void oneLevelInFlightAndNoProfileByDefault() {
    ControllerBench.Options o = options();
    assertEquals(List.of(64), o.inFlight());
    assertFalse(o.profile());
    assertNull(o.profileFile());
  }

  @Test
  void warmUpRunsAtLeastItsGoalsAndAtMostTheMaximum() {
    ControllerBench.Options o = options();
    assertEquals(1000, o.warmupGoals());
    assertEquals(8000, o.warmupMaxGoals());
    assertEquals(
        3000, options("--warmup-goals", "3000", "--warmup-max-goals", "3000").warmupMaxGoals());
    // a maximum under the minimum is the minimum: the warm-up never stops short of --warmup-goals
    assertEquals(
        2000, options("--warmup-goals", "2000", "--warmup-max-goals", "500").warmupMaxGoals());
  }

  @Test
  void aListOfInFlightLevelsIsMeasuredInItsOrder() {
    assertEquals(List.of(256, 64), options("--in-flight", "256,64").inFlight());
    assertEquals(List.of(0), options("--in-flight", "0").inFlight());
  }

  @Test
  void profileWithoutAFileProfilesAndKeepsNoRecording() {
    ControllerBench.Options o = options("--profile");
    assertTrue(o.profile());
    assertNull(o.profileFile());
    ControllerBench.Options kept = options("--profile", "target/bench.jfr");
    assertTrue(kept.profile());
    assertEquals(Path.of("target/bench.jfr"), kept.profileFile());
  }

  @Test
  void compareTakesSettingsAnEmptyValueAndAValueWithCommas() {
    assertEquals(Map.of(), options().compare());
    assertEquals(
        Map.of("controller.inline.tools", ""),
        options("--compare", "controller.inline.tools=").compare());
    assertEquals(
        Map.of(
            "controller.inline.tools", "calculator,search", "interactive.commit.interval.ms", "20"),
        options(
                "--compare",
                "controller.inline.tools=calculator,search,interactive.commit.interval.ms=20")
            .compare());
  }

  @Test
  void compareMeasuresOnePartitionerAndIsNotATracingComparison() {
    assertEquals(
        List.of(dev.llmstreams.bench.InputPartitioner.JAVA),
        options("--compare", "interactive.commit.interval.ms=20").partitioners());
    assertThrows(
        Main.UserError.class,
        () -> options("--compare", "interactive.commit.interval.ms=20", "--tracing", "compare"));
    assertThrows(
        Main.UserError.class, () -> options("--compare", "poll.ms=1", "--partitioner", "both"));
    assertThrows(IllegalArgumentException.class, () -> options("--compare", "topics.prefix=x."));
  }

  @Test
  void aCompareWithTracingCompareIsRefusedInOneLine() {
    CliRun r = CliRun.of("bench", "controller", "--compare", "poll.ms=1", "--tracing", "compare");
    assertEquals(2, r.exit(), r.err());
    assertTrue(r.err().contains("--compare and --tracing compare"), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
  }
}
