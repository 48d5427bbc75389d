package dev.llmstreams.app;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Lines of a user's text file or stream, without the byte order mark that Windows tools put first
 * (Notepad, PowerShell 5's {@code Out-File -Encoding utf8}, Excel's "CSV UTF-8"): it would
 * otherwise be part of the first line, and the first JSON line would be refused as malformed.
 */
final class TextLines {
  private static final int BYTE_ORDER_MARK = '\uFEFF';

  private TextLines() {}

  /** The file's lines, UTF-8, the first without a byte order mark. */
  static List<String> read(Path file) throws IOException {
    List<String> lines = new ArrayList<>();
    try (BufferedReader in =
        skippingByteOrderMark(Files.newBufferedReader(file, StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        lines.add(line);
      }
    }
    return lines;
  }

  /** {@code in}, past a byte order mark at its start, if there is one. */
  static BufferedReader skippingByteOrderMark(BufferedReader in) throws IOException {
    in.mark(1);
    if (in.read() != BYTE_ORDER_MARK) {
      in.reset();
    }
    return in;
  }
}
