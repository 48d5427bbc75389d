package dev.llmstreams.app;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Lines of a user's text file, UTF-8, without the byte order mark that Windows tools put first
 * (Notepad, PowerShell 5's {@code Out-File -Encoding utf8}, Excel's "CSV UTF-8"): it would
 * otherwise be part of the first line, and the first JSON line would be refused as malformed.
 */
final class TextLines {
  private static final char BYTE_ORDER_MARK = '\uFEFF';

  private TextLines() {}

  /** The file's lines, the first without a byte order mark. */
  static List<String> read(Path file) throws IOException {
    List<String> lines = new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
    if (!lines.isEmpty()) {
      lines.set(0, withoutByteOrderMark(lines.get(0)));
    }
    return lines;
  }

  /** The line without a leading byte order mark (pass the first line of a file or stream). */
  static String withoutByteOrderMark(String line) {
    return line != null && !line.isEmpty() && line.charAt(0) == BYTE_ORDER_MARK
        ? line.substring(1)
        : line;
  }
}
