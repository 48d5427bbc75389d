package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A file saved by a Windows tool reads as the same lines as one saved elsewhere. */
class TextLinesTest {
  @Test
  void dropsTheByteOrderMarkAndCarriageReturns(@TempDir Path dir) throws Exception {
    Path windows = dir.resolve("w.txt");
    Files.write(
        windows,
        "\uFEFF{\"key\":\"a\"}\r\nsecond \uFEFF stays\r\n".getBytes(StandardCharsets.UTF_8));
    assertThat(TextLines.read(windows)).containsExactly("{\"key\":\"a\"}", "second \uFEFF stays");
    assertThat(TextLines.read(Files.writeString(dir.resolve("e.txt"), ""))).isEmpty();
    assertThat(firstLine("\uFEFF")).isNull();
    assertThat(firstLine("x")).isEqualTo("x");
  }

  private static String firstLine(String text) throws Exception {
    return TextLines.skippingByteOrderMark(new BufferedReader(new StringReader(text))).readLine();
  }
}
