package dev.llmstreams.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmstreams.bench.InputPartitioner;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code --partitioner} of {@code bench controller} and {@code bench summarizer}: what each value
 * measures, and each refusal one line and exit code 2, before any broker starts.
 */
class BenchPartitionerArgsTest {
  /** The bench subcommand's object after parsing, without running it. */
  private static Object parsed(String... args) {
    CommandLine.ParseResult result = Main.commandLine(args).parseArgs(args);
    return result.subcommand().subcommand().commandSpec().userObject();
  }

  @Test
  void bothPartitionersByDefault() {
    List<InputPartitioner> both = List.of(InputPartitioner.JAVA, InputPartitioner.LIBRDKAFKA);
    assertEquals(both, ((BenchCommand.Controller) parsed("bench", "controller")).partitioners());
    assertEquals(both, ((BenchCommand.Summarizer) parsed("bench", "summarizer")).partitioners());
    assertEquals(
        both,
        ((BenchCommand.Controller) parsed("bench", "controller", "--partitioner", "both"))
            .partitioners());
  }

  @Test
  void onePartitionerAlone() {
    assertEquals(
        List.of(InputPartitioner.LIBRDKAFKA),
        ((BenchCommand.Controller) parsed("bench", "controller", "--partitioner", "librdkafka"))
            .partitioners());
    assertEquals(
        List.of(InputPartitioner.JAVA),
        ((BenchCommand.Summarizer) parsed("bench", "summarizer", "--partitioner", "java"))
            .partitioners());
  }

  @Test
  void anUnknownPartitionerIsRefused() {
    for (String bench : List.of("controller", "summarizer")) {
      CliRun r = CliRun.of("bench", bench, "--partitioner", "murmur2");
      assertEquals(2, r.exit(), r.err());
      assertTrue(
          r.err().contains("--partitioner must be java, librdkafka or both, was 'murmur2'"),
          r.err());
      assertEquals(1, r.err().strip().lines().count(), r.err());
    }
  }

  @Test
  void theQualityBenchTakesNoPartitioner() {
    CliRun r = CliRun.of("bench", "summarizer", "--quality", "--partitioner", "librdkafka");
    assertEquals(2, r.exit(), r.err());
    assertTrue(r.err().contains("not with --quality"), r.err());
  }
}
