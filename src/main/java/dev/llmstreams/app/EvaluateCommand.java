package dev.llmstreams.app;

import dev.llmstreams.specialist.model.Evaluation;
import dev.llmstreams.specialist.model.EvaluationReport;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.SpecialistModels;
import dev.llmstreams.specialist.model.TextClassifier;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "evaluate",
    mixinStandardHelpOptions = true,
    description = {
      "Evaluate a saved specialist model on labelled texts.",
      "Reports accuracy, macro F1, per-label scores, events/s on one thread, and the coverage and accuracy of the",
      "events kept at the threshold."
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
      required = true,
      description = "Labelled examples (.csv or .jsonl).")
  Path testFile;

  @Mixin LabeledColumns columns;

  @Option(
      names = "--threshold",
      description =
          "Confidence below which an event would be escalated (default: the model's recommended one).")
  Double threshold;

  @Option(
      names = "--json",
      paramLabel = "FILE",
      description = "Also write the report to this file.")
  Path json;

  @Override
  public Integer call() throws Exception {
    List<LabeledText> test = columns.read(testFile);
    TextClassifier model;
    try {
      model = SpecialistModels.load(modelDir);
    } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
      throw new Main.UserError(e.getMessage());
    }
    EvaluationReport report =
        Evaluation.evaluate(
            model, test, threshold != null ? threshold : model.recommendedThreshold());
    System.err.println(
        model.name() + " " + model.version() + " on " + testFile + ": " + report.summary());
    BenchCommand.report(report.toJson(), json);
    return 0;
  }
}
