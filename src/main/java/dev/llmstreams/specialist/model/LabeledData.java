package dev.llmstreams.specialist.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.RuntimeJsonMappingException;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import dev.llmstreams.events.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Labelled texts from CSV (with a header row) or JSON lines (one object per line). A bad row fails
 * the whole read with the file and line named: training on silently skipped rows would hide a
 * broken export. The read goes on past a bad row so that one error names every bad row (up to
 * {@value #ROWS_NAMED} of them), and a file is mended in one pass (but an unclosed quote, which
 * takes the rest of a CSV file into one text, ends the read there).
 */
public final class LabeledData {
  public static final String DEFAULT_TEXT_COLUMN = "text";
  public static final String DEFAULT_LABEL_COLUMN = "category";

  /**
   * The bundled data set (CC BY 4.0, see banking77/LICENSE): 10,003 training and 3,080 test
   * customer queries.
   */
  public static final String BANKING77_TRAIN = "/banking77/train.csv";

  public static final String BANKING77_TEST = "/banking77/test.csv";

  /** Bad rows an error names; the rest are counted. */
  static final int ROWS_NAMED = 20;

  private static final CsvMapper CSV =
      CsvMapper.builder().enable(CsvParser.Feature.WRAP_AS_ARRAY).build();

  /** The layout of a file; chosen from its name. */
  public enum Format {
    CSV,
    JSON_LINES;

    static Format of(String fileName) {
      String name = fileName.toLowerCase(Locale.ROOT);
      // Tab-separated exports (.tsv, .tab) are CSV whose header row has tabs and no comma.
      if (name.endsWith(".csv") || name.endsWith(".tsv") || name.endsWith(".tab")) {
        return CSV;
      }
      if (name.endsWith(".jsonl") || name.endsWith(".ndjson") || name.endsWith(".json")) {
        return JSON_LINES;
      }
      throw new IllegalArgumentException(
          fileName
              + ": unknown format; name the file .csv or .tsv (with a header row) or"
              + " .jsonl (one JSON object per line)");
    }
  }

  private LabeledData() {}

  public static List<LabeledText> read(Path file) {
    return read(file, DEFAULT_TEXT_COLUMN, DEFAULT_LABEL_COLUMN);
  }

  public static List<LabeledText> read(Path file, String textColumn, String labelColumn) {
    Format format = Format.of(file.getFileName().toString());
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return read(file.toString(), in, format, textColumn, labelColumn);
    } catch (IOException e) {
      throw new UncheckedIOException(cannotRead(file.toString(), e), e);
    }
  }

  /** A data set inside the jar, e.g. {@link #BANKING77_TRAIN}. */
  public static List<LabeledText> classpath(String resource) {
    InputStream stream = LabeledData.class.getResourceAsStream(resource);
    if (stream == null) {
      throw new IllegalArgumentException(resource + " is not on the classpath");
    }
    try (Reader in = new InputStreamReader(stream, StandardCharsets.UTF_8)) {
      return read(resource, in, Format.of(resource), DEFAULT_TEXT_COLUMN, DEFAULT_LABEL_COLUMN);
    } catch (IOException e) {
      throw new UncheckedIOException(cannotRead(resource, e), e);
    }
  }

  /**
   * @param source the file name errors mention
   */
  public static List<LabeledText> read(
      String source, Reader given, Format format, String textColumn, String labelColumn) {
    Reader in = withoutByteOrderMark(source, given);
    List<String> badRows = new ArrayList<>();
    List<LabeledText> out =
        format == Format.CSV
            ? csv(source, in, textColumn, labelColumn, badRows)
            : jsonLines(source, in, textColumn, labelColumn, badRows);
    if (!badRows.isEmpty()) {
      throw new IllegalArgumentException(badRows(source, badRows, out.size()));
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(source + ": no examples");
    }
    return out;
  }

  /**
   * One bad row: its own message, as before; more: how many, each on a line of its own (the first
   * {@value #ROWS_NAMED}).
   */
  private static String badRows(String source, List<String> badRows, int good) {
    if (badRows.size() == 1) {
      return badRows.get(0);
    }
    StringBuilder why =
        new StringBuilder(source)
            .append(": ")
            .append(badRows.size())
            .append(" bad rows (")
            .append(good)
            .append(" good); mend them and read the file again:");
    badRows.stream().limit(ROWS_NAMED).forEach(row -> why.append("\n  ").append(row));
    if (badRows.size() > ROWS_NAMED) {
      why.append("\n  ... and ").append(badRows.size() - ROWS_NAMED).append(" more");
    }
    return why.toString();
  }

  /**
   * The text without the byte order mark some editors (Excel's "CSV UTF-8") put before it, which
   * would otherwise be part of the first column's name.
   */
  private static Reader withoutByteOrderMark(String source, Reader in) {
    java.io.PushbackReader pushback = new java.io.PushbackReader(in, 1);
    try {
      int first = pushback.read();
      if (first != -1 && first != '\uFEFF') {
        pushback.unread(first);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(cannotRead(source, e), e);
    }
    return pushback;
  }

  /** Why a file cannot be read, in words: text that is not UTF-8 says so. */
  private static String cannotRead(String source, IOException e) {
    if (e instanceof java.nio.file.NoSuchFileException) {
      return source + ": no such file";
    }
    return e instanceof java.nio.charset.CharacterCodingException
        ? source + ": not UTF-8 text (" + e.getMessage() + "); save it as UTF-8"
        : source + ": cannot read: " + e.getMessage();
  }

  private static List<LabeledText> csv(
      String source, Reader in, String textColumn, String labelColumn, List<String> badRows) {
    List<LabeledText> out = new ArrayList<>();
    BufferedReader buffered = in instanceof BufferedReader b ? b : new BufferedReader(in);
    char separator = separator(source, buffered);
    // Rows are read as they are, whatever their length, and their columns counted here: a row with
    // too few or too many (an unquoted separator in a text) is then one bad row, and the read goes
    // on with the next line, where a schema's column check would stop the parser mid-row.
    try (MappingIterator<String[]> rows =
        CSV.readerFor(String[].class)
            .with(CsvSchema.emptySchema().withColumnSeparator(separator))
            .readValues(buffered)) {
      String[] header = rows.hasNextValue() ? rows.nextValue() : new String[0];
      List<String> columns = List.of(header);
      int text = columns.indexOf(textColumn);
      int label = columns.indexOf(labelColumn);
      for (String column : List.of(textColumn, labelColumn)) {
        if (!columns.contains(column)) {
          throw new IllegalArgumentException(
              source
                  + ":1: no column '"
                  + column
                  + "' in the header (columns: "
                  + String.join(", ", columns)
                  + ")");
        }
      }
      while (true) {
        // Where the parser stands between rows is the next row's first line (a quoted text may span
        // several).
        long line = rows.getCurrentLocation().getLineNr();
        String[] row;
        try {
          if (!rows.hasNextValue()) {
            break;
          }
          row = rows.nextValue();
        } catch (RuntimeJsonMappingException | JsonProcessingException e) {
          badRows.add(source + ":" + line + ": malformed CSV row: " + originalMessage(e));
          break; // an unclosed quote: the rest of the file is inside it
        }
        if (row.length == 1 && row[0].isEmpty()) {
          continue; // a blank line
        }
        if (row.length != header.length) {
          badRows.add(
              source
                  + ":"
                  + line
                  + ": "
                  + (row.length == 1 ? "1 column" : row.length + " columns")
                  + ", the header has "
                  + header.length
                  + (row.length > header.length
                      ? " (a text with "
                          + (separator == '\t' ? "a tab" : "a '" + separator + "'")
                          + " in it must be in double quotes)"
                      : ""));
          continue;
        }
        add(
            out,
            badRows,
            () -> example(source, line, row[text], row[label], textColumn, labelColumn));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(cannotRead(source, e), e);
    }
    return out;
  }

  /**
   * The column separator: a comma, unless the header row has none and has semicolons (spreadsheets
   * in locales whose decimal mark is a comma write those) or tabs.
   */
  private static char separator(String source, BufferedReader in) {
    try {
      in.mark(64 * 1024);
      char[] head = new char[64 * 1024];
      int n = in.read(head);
      in.reset();
      String header = n <= 0 ? "" : new String(head, 0, n).lines().findFirst().orElse("");
      if (header.indexOf(',') >= 0) {
        return ',';
      }
      return header.indexOf(';') >= 0 ? ';' : header.indexOf('\t') >= 0 ? '\t' : ',';
    } catch (IOException e) {
      throw new UncheckedIOException(cannotRead(source, e), e);
    }
  }

  private static String originalMessage(Exception e) {
    Throwable cause =
        e instanceof RuntimeJsonMappingException && e.getCause() != null ? e.getCause() : e;
    return cause instanceof JsonProcessingException p ? p.getOriginalMessage() : cause.getMessage();
  }

  private static List<LabeledText> jsonLines(
      String source, Reader in, String textColumn, String labelColumn, List<String> badRows) {
    List<LabeledText> out = new ArrayList<>();
    BufferedReader lines = in instanceof BufferedReader b ? b : new BufferedReader(in);
    try {
      String line;
      int number = 0;
      while ((line = lines.readLine()) != null) {
        number++;
        if (line.isBlank()) {
          continue;
        }
        String text = line;
        int at = number;
        add(
            out,
            badRows,
            () -> {
              JsonNode row;
              try {
                row = Json.reader().readTree(text);
              } catch (JsonProcessingException e) {
                throw new IllegalArgumentException(
                    source + ":" + at + ": malformed JSON: " + e.getOriginalMessage(), e);
              }
              if (row == null || !row.isObject()) {
                throw new IllegalArgumentException(
                    source + ":" + at + ": a line must be a JSON object");
              }
              return example(
                  source,
                  at,
                  field(source, at, row, textColumn, false),
                  field(source, at, row, labelColumn, true),
                  textColumn,
                  labelColumn);
            });
      }
    } catch (IOException e) {
      throw new UncheckedIOException(cannotRead(source, e), e);
    }
    return out;
  }

  /** Adds the row's example, or its problem to {@code badRows}. */
  private static void add(
      List<LabeledText> out, List<String> badRows, Supplier<LabeledText> example) {
    try {
      out.add(example.get());
    } catch (IllegalArgumentException e) {
      badRows.add(e.getMessage());
    }
  }

  /**
   * A line's text or label: a field of the object, or with a leading {@code /} a JSON Pointer to a
   * nested one ({@code /payload/text}). A label may also be a number or a boolean (datasets often
   * number their classes): its JSON text is the label.
   */
  private static String field(
      String source, int line, JsonNode row, String name, boolean scalarAllowed) {
    JsonNode v = name.startsWith("/") ? row.at(name) : row.get(name);
    if (v != null && v.isMissingNode()) {
      v = null;
    }
    if (scalarAllowed && v != null && (v.isIntegralNumber() || v.isBoolean())) {
      return v.asText();
    }
    if (v != null && !v.isNull() && !v.isTextual()) {
      throw new IllegalArgumentException(
          source
              + ":"
              + line
              + ": '"
              + name
              + "' must be a string"
              + (scalarAllowed ? ", an integer or a boolean" : "")
              + ", not "
              + (v.isNumber()
                  ? "the number " + v
                  : v.getNodeType().toString().toLowerCase(Locale.ROOT)));
    }
    return v == null || v.isNull() ? null : v.textValue();
  }

  private static LabeledText example(
      String source, long line, String text, String label, String textColumn, String labelColumn) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException(
          source + ":" + line + ": '" + textColumn + "' is missing or empty");
    }
    if (label == null || label.isBlank()) {
      throw new IllegalArgumentException(
          source + ":" + line + ": '" + labelColumn + "' is missing or empty");
    }
    return new LabeledText(text, label.strip());
  }

  /**
   * sha-256 hex of the examples in order (length-prefixed text and label), to tell which data built
   * a model.
   */
  public static String digest(List<LabeledText> examples) {
    MessageDigest sha = sha256();
    for (LabeledText e : examples) {
      for (String s : new String[] {e.text(), e.label()}) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        sha.update(
            new byte[] {
              (byte) (bytes.length >>> 24),
              (byte) (bytes.length >>> 16),
              (byte) (bytes.length >>> 8),
              (byte) bytes.length
            });
        sha.update(bytes);
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java has SHA-256", e);
    }
  }
}
