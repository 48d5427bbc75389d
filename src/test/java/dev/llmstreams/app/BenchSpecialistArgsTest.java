package dev.llmstreams.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench specialist}'s argument checks: each refusal is one line and exit code 2, before any
 * broker starts.
 */
class BenchSpecialistArgsTest {
  @TempDir Path dir;

  @Test
  void aModelThatIsNotThereIsRefused() {
    CliRun r = CliRun.of("bench", "specialist", "--model", dir.resolve("nothing").toString());
    assertEquals(2, r.exit(), r.err());
    assertTrue(r.err().contains("is not a model directory"), r.err());
  }

  @Test
  void aSavedModelIsNotTrainedSoTrainingDataIsRefused() throws Exception {
    Path model = Files.createDirectories(dir.resolve("model"));
    Files.writeString(model.resolve("model.json"), "{}");
    Path train = Files.writeString(dir.resolve("train.csv"), "text,category\nhello,greeting\n");
    CliRun r =
        CliRun.of("bench", "specialist", "--model", model.toString(), "--train", train.toString());
    assertEquals(2, r.exit(), r.err());
    assertTrue(r.err().contains("not --train"), r.err());
  }

  @Test
  void moreRoundsThanEventsIsRefused() {
    CliRun r =
        CliRun.of("bench", "specialist", "--kinds", "hashed", "--events", "3", "--rounds", "4");
    assertEquals(2, r.exit(), r.err());
    assertTrue(r.err().contains("--rounds must be between 1 and --events"), r.err());
  }

  @Test
  void miniLmAmongTheMoreEncodersIsRefused() {
    CliRun r = CliRun.of("bench", "specialist", "--more-encoders", "bge-small,minilm");
    assertEquals(2, r.exit(), r.err());
    assertTrue(r.err().contains("MiniLM is always the first encoder"), r.err());
  }

  @Test
  void anUnknownMoreEncoderIsRefused() {
    CliRun r = CliRun.of("bench", "specialist", "--more-encoders", "gte-large");
    assertEquals(2, r.exit(), r.err());
    assertTrue(r.err().contains("unknown encoder 'gte-large'"), r.err());
  }
}
