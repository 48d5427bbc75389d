package dev.llmstreams.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FoldersTest {
  @TempDir Path dir;

  @Test
  void shouldDeleteAFolderWithEverythingInItAndLetAMissingOneBe() throws Exception {
    Path state = Files.createDirectories(dir.resolve("state/0_1/rocksdb"));
    Files.writeString(state.resolve("000001.sst"), "x");
    Files.writeString(dir.resolve("state/.lock"), "");
    Path kept = Files.writeString(dir.resolve("beside.txt"), "kept");

    Folders.deleteQuietly(dir.resolve("state"));
    Folders.deleteQuietly(dir.resolve("state")); // gone already: nothing thrown
    Folders.deleteQuietly(dir.resolve("never-made"));

    assertThat(dir.resolve("state")).doesNotExist();
    assertThat(kept).hasContent("kept");
  }
}
