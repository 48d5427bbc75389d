package dev.llmstreams.app;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.specialist.model.Evaluation;
import dev.llmstreams.specialist.model.EvaluationReport;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.OutOfScopeReport;
import dev.llmstreams.specialist.model.SpecialistModels;
import dev.llmstreams.specialist.model.TextClassifier;
import dev.llmstreams.specialist.model.TrainingOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "evaluate",
    mixinStandardHelpOptions = true,
    description = {
      "Evaluate a saved specialist model on labelled texts.",
      "Reports accuracy, macro F1, per-label scores, events/s on one thread, and the coverage "
          + "and accuracy of the events kept at the threshold (and, for a cascade, the share each "
          + "stage decided).",
      "With --out-of-scope: how many texts of labels the model never trained on it keeps (each "
          + "a confident wrong label; it should escalate them)."
    })
final class EvaluateCommand implements Callable<Integer> {
  @Option(
      names = "--model",
      paramLabel = "DIR",
      required = true,
      description = "A model directory written by train.")
  Path modelDir;

  @Option(
      names = "--test",
      paramLabel = "FILE",
      description = "Labelled examples (.csv or .jsonl).")
  Path testFile;

  @Option(
      names = "--out-of-scope",
      paramLabel = "FILE",
      description =
          "Texts of labels the model was not trained on: .txt (one text per line) or labelled .csv/.jsonl"
              + " (rows whose label the model knows are left out).")
  Path outOfScopeFile;

  @Mixin LabeledColumns columns;

  @Option(
      names = "--threshold",
      description =
          "Confidence below which an event would be escalated (default: the model's recommended one). A"
              + " cascade's hashed stage keeps what it is sure of at its own stage threshold whatever this"
              + " says, as specialist.threshold does in the app.")
  Double threshold;

  @Option(
      names = "--json",
      paramLabel = "FILE",
      description = "Also write the report to this file.")
  Path json;

  @Override
  public Integer call() throws Exception {
    if (testFile == null && outOfScopeFile == null) {
      throw new Main.UserError("give --test FILE, --out-of-scope FILE, or both");
    }
    TextClassifier model;
    String outOfScopeLabel;
    try {
      SpecialistModel record = SpecialistModels.read(modelDir);
      model = SpecialistModels.load(record);
      outOfScopeLabel = TrainingOptions.outOfScopeLabelOf(record.config());
    } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
      throw new Main.UserError(e.getMessage());
    }
    double at = threshold != null ? threshold : model.recommendedThreshold();
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    if (testFile != null) {
      List<LabeledText> all = columns.read(testFile);
      // Rows of the model's out-of-scope label are texts it should escalate, not a label to score.
      Evaluation.Split split = Evaluation.split(all, outOfScopeLabel);
      List<LabeledText> rows = split.scored();
      EvaluationReport report = Evaluation.evaluate(model, rows, at);
      System.err.println(
          model.name() + " " + model.version() + " on " + testFile + ": " + report.summary());
      out = report.toJson();
      if (!split.outOfScope().isEmpty()) {
        OutOfScopeReport marked = Evaluation.outOfScope(model, split.outOfScope(), at);
        System.err.println(
            "rows of "
                + testFile
                + " labelled "
                + outOfScopeLabel
                + " (the model's out-of-scope label): "
                + marked.summary());
        out.set("test_out_of_scope", marked.toJson());
      }
      Map<String, Integer> unknown = unknownLabels(model, rows);
      if (!unknown.isEmpty()) {
        int count = unknown.values().stream().mapToInt(Integer::intValue).sum();
        System.err.println(
            count
                + " of "
                + rows.size()
                + " rows of "
                + testFile
                + " have a label the model was not trained on ("
                + unknown.entrySet().stream()
                    .map(e -> e.getKey() + " " + e.getValue())
                    .collect(Collectors.joining(", "))
                + "): each counts as a mistake above; --out-of-scope "
                + testFile
                + " counts how many of them the model keeps");
        out.put("unknown_label_rows", count);
        ObjectNode byLabel = out.putObject("unknown_labels");
        unknown.forEach(byLabel::put);
      }
    }
    if (outOfScopeFile != null) {
      List<String> texts = outOfScopeTexts(model);
      OutOfScopeReport oos = Evaluation.outOfScope(model, texts, at);
      System.err.println(
          model.name() + " " + model.version() + " on " + outOfScopeFile + ": " + oos.summary());
      out.set("out_of_scope", oos.toJson());
    }
    BenchCommand.report(out, json);
    return 0;
  }

  /** Rows per label of the labels the model does not know, in label order (empty: none). */
  private static Map<String, Integer> unknownLabels(TextClassifier model, List<LabeledText> rows) {
    Set<String> known = new HashSet<>(model.labels());
    Map<String, Integer> unknown = new TreeMap<>();
    for (LabeledText row : rows) {
      if (!known.contains(row.label())) {
        unknown.merge(row.label(), 1, Integer::sum);
      }
    }
    return unknown;
  }

  /** The out-of-scope texts: lines of a .txt, or the rows of a labelled file whose label is new. */
  private List<String> outOfScopeTexts(TextClassifier model) throws java.io.IOException {
    List<String> texts;
    if (outOfScopeFile.getFileName().toString().endsWith(".txt")) {
      if (!Files.isRegularFile(outOfScopeFile)) {
        throw new Main.UserError("--out-of-scope " + outOfScopeFile + ": no such file");
      }
      texts =
          TextLines.read(outOfScopeFile).stream()
              .map(String::strip)
              .filter(t -> !t.isEmpty())
              .toList();
    } else {
      Set<String> known = new HashSet<>(model.labels());
      List<LabeledText> rows = columns.read(outOfScopeFile);
      texts = rows.stream().filter(e -> !known.contains(e.label())).map(LabeledText::text).toList();
      if (texts.size() < rows.size()) {
        System.err.println(
            (rows.size() - texts.size())
                + " rows of "
                + outOfScopeFile
                + " have a label the model knows: left out of the out-of-scope count");
      }
    }
    if (texts.isEmpty()) {
      throw new Main.UserError("--out-of-scope " + outOfScopeFile + " has no out-of-scope texts");
    }
    return texts;
  }
}
