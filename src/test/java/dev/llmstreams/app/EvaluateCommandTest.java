package dev.llmstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code evaluate --out-of-scope}: how many texts of labels a saved model never trained on it
 * keeps, from a plain text file or a labelled file (rows of known labels left out).
 */
class EvaluateCommandTest {
  private static final Set<String> KNOWN =
      Set.of("card_arrival", "lost_or_stolen_card", "exchange_rate", "top_up_failed");
  private static final Set<String> UNKNOWN = Set.of("pin_blocked", "terminate_account");

  @TempDir static Path dir;

  private static Path csv(String name, String resource, Set<String> labels) throws Exception {
    List<LabeledText> rows =
        LabeledData.classpath(resource).stream().filter(e -> labels.contains(e.label())).toList();
    String body =
        rows.stream()
            .map(e -> "\"" + e.text().replace("\"", "\"\"") + "\"," + e.label())
            .collect(Collectors.joining("\n", "text,category\n", "\n"));
    return Files.writeString(dir.resolve(name), body);
  }

  private static int run(StringWriter err, String... args) {
    CommandLine cli = Main.commandLine();
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  /** {@code evaluate} of the trained model on one file, its report written to {@code json}. */
  private static int evaluate(String option, Path file, Path json) {
    return run(
        new StringWriter(),
        "evaluate",
        "--model",
        dir.resolve("model").toString(),
        option,
        file.toString(),
        "--json",
        json.toString());
  }

  @BeforeAll
  static void train() throws Exception {
    Path config = Files.writeString(dir.resolve("empty.properties"), "");
    int code =
        run(
            new StringWriter(),
            "train",
            "--config",
            config.toString(),
            "--train",
            csv("train.csv", LabeledData.BANKING77_TRAIN, KNOWN).toString(),
            "--test",
            csv("test.csv", LabeledData.BANKING77_TEST, KNOWN).toString(),
            "--kind",
            "hashed",
            "--out",
            dir.resolve("model").toString());
    assertThat(code).isZero();
  }

  @Test
  void shouldCountTheOutOfScopeTextsTheModelKeepsFromAPlainTextFile() throws Exception {
    List<String> texts =
        LabeledData.classpath(LabeledData.BANKING77_TEST).stream()
            .filter(e -> UNKNOWN.contains(e.label()))
            .map(LabeledText::text)
            .toList();
    Path txt = Files.write(dir.resolve("unknown.txt"), texts);
    Path json = dir.resolve("oos.json");

    int code = evaluate("--out-of-scope", txt, json);

    assertThat(code).isZero();
    JsonNode report = Json.tree(Files.readString(json)).get("out_of_scope");
    assertThat(report.get("events").asInt()).isEqualTo(texts.size());
    int kept = report.get("kept").asInt();
    assertThat(kept).isBetween(0, texts.size());
    assertThat(report.get("kept_share").asDouble()).isEqualTo(kept / (double) texts.size());
    int keptAs = 0;
    for (JsonNode n : report.get("kept_as")) {
      keptAs += n.asInt();
    }
    assertThat(keptAs).isEqualTo(kept);
    report.get("kept_as").fieldNames().forEachRemaining(l -> assertThat(KNOWN).contains(l));
  }

  @Test
  void shouldLeaveOutRowsOfKnownLabelsAndReportTheTestBeside() throws Exception {
    Set<String> mixed = new java.util.HashSet<>(UNKNOWN);
    mixed.add("card_arrival");
    Path labelled = csv("mixed.csv", LabeledData.BANKING77_TEST, mixed);
    long unknownRows =
        LabeledData.classpath(LabeledData.BANKING77_TEST).stream()
            .filter(e -> UNKNOWN.contains(e.label()))
            .count();
    Path json = dir.resolve("both.json");
    StringWriter err = new StringWriter();

    int code =
        run(
            err,
            "evaluate",
            "--model",
            dir.resolve("model").toString(),
            "--test",
            dir.resolve("test.csv").toString(),
            "--out-of-scope",
            labelled.toString(),
            "--json",
            json.toString());

    assertThat(code).isZero();
    JsonNode report = Json.tree(Files.readString(json));
    assertThat(report.get("accuracy").asDouble()).isGreaterThan(0.8);
    assertThat(report.get("out_of_scope").get("events").asLong()).isEqualTo(unknownRows);
    assertThat(report.has("unknown_label_rows")).isFalse(); // every test row's label is known
  }

  @Test
  void shouldCountTestRowsOfLabelsTheModelDoesNotKnow() throws Exception {
    Set<String> mixed = new java.util.HashSet<>(UNKNOWN);
    mixed.add("card_arrival");
    Path labelled = csv("mixed-test.csv", LabeledData.BANKING77_TEST, mixed);
    java.util.Map<String, Long> unknownRows =
        LabeledData.classpath(LabeledData.BANKING77_TEST).stream()
            .filter(e -> UNKNOWN.contains(e.label()))
            .collect(Collectors.groupingBy(LabeledText::label, Collectors.counting()));
    Path json = dir.resolve("mixed-test.json");

    int code = evaluate("--test", labelled, json);

    assertThat(code).isZero();
    JsonNode report = Json.tree(Files.readString(json));
    assertThat(report.get("unknown_label_rows").asLong())
        .isEqualTo(unknownRows.values().stream().mapToLong(Long::longValue).sum());
    assertThat(report.get("unknown_labels").get("pin_blocked").asLong())
        .isEqualTo(unknownRows.get("pin_blocked"));
    assertThat(report.get("unknown_labels").get("terminate_account").asLong())
        .isEqualTo(unknownRows.get("terminate_account"));
    assertThat(report.get("unknown_labels").size()).isEqualTo(2);
  }

  @Test
  void shouldRefuseWithoutAnythingToEvaluateOrWithAnEmptyFile() throws Exception {
    StringWriter none = new StringWriter();
    assertThat(run(none, "evaluate", "--model", dir.resolve("model").toString())).isEqualTo(2);
    assertThat(none.toString()).contains("give --test FILE, --out-of-scope FILE, or both");

    Path empty = Files.writeString(dir.resolve("empty.txt"), "\n  \n");
    StringWriter err = new StringWriter();
    assertThat(
            run(
                err,
                "evaluate",
                "--model",
                dir.resolve("model").toString(),
                "--out-of-scope",
                empty.toString()))
        .isEqualTo(2);
    assertThat(err.toString()).contains("has no out-of-scope texts");
  }
}
