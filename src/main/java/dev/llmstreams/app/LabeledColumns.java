package dev.llmstreams.app;

import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** The columns (CSV) or fields (JSON lines) of labelled data, shared by train and evaluate. */
final class LabeledColumns {
  @Option(
      names = "--text-column",
      defaultValue = LabeledData.DEFAULT_TEXT_COLUMN,
      description =
          "Column or field of the text (default ${DEFAULT-VALUE}); in JSON lines, a JSON Pointer such as"
              + " /payload/text reaches a nested field.")
  String text;

  @Option(
      names = "--label-column",
      defaultValue = LabeledData.DEFAULT_LABEL_COLUMN,
      description =
          "Column or field of the label (default ${DEFAULT-VALUE}); in JSON lines, a JSON Pointer reaches a"
              + " nested field, and an integer or boolean label is read as its text (3, true).")
  String label;

  List<LabeledText> read(Path file) {
    try {
      return LabeledData.read(file, text, label);
    } catch (IllegalArgumentException | UncheckedIOException e) {
      throw new Main.UserError(e.getMessage());
    }
  }
}
