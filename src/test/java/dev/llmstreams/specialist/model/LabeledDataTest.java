package dev.llmstreams.specialist.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabeledDataTest {
  @TempDir Path dir;

  private static List<LabeledText> csv(String text, String textColumn, String labelColumn) {
    return LabeledData.read(
        "data.csv", new StringReader(text), LabeledData.Format.CSV, textColumn, labelColumn);
  }

  private static List<LabeledText> jsonl(String text) {
    return LabeledData.read(
        "data.jsonl", new StringReader(text), LabeledData.Format.JSON_LINES, "text", "category");
  }

  @Test
  void shouldReadCsvWithQuotedMultiLineTextsAndChosenColumns() {
    List<LabeledText> rows =
        csv(
            "id,utterance,intent\n1,\"Where is my card,\nplease?\",card_arrival\n2,Top up failed,top_up_failed\n",
            "utterance",
            "intent");

    assertThat(rows)
        .containsExactly(
            new LabeledText("Where is my card,\nplease?", "card_arrival"),
            new LabeledText("Top up failed", "top_up_failed"));
  }

  @Test
  void shouldSayAMissingFileOrModelDirectoryIsMissing(@TempDir Path dir) {
    Path csv = dir.resolve("tickets.csv");
    assertThatThrownBy(() -> LabeledData.read(csv))
        .isInstanceOf(java.io.UncheckedIOException.class)
        .hasMessage(csv + ": no such file");
    Path model = dir.resolve("models").resolve("tickets");
    assertThatThrownBy(() -> SpecialistModels.read(model))
        .isInstanceOf(java.io.UncheckedIOException.class)
        .hasMessage(model + ": no such model directory (train --out writes one)");
    assertThatThrownBy(() -> SpecialistModels.read(dir))
        .hasMessage(
            dir.resolve(SpecialistModels.MODEL_FILE)
                + ": no model here (train --out writes "
                + SpecialistModels.MODEL_FILE
                + ")");
  }

  @Test
  void shouldNameTheFileAndTheColumnsWhenAColumnIsMissing() {
    assertThatThrownBy(() -> csv("text,label\nhello,greeting\n", "text", "category"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("data.csv:1: no column 'category' in the header (columns: text, label)");
  }

  @Test
  void shouldNameTheLineOfAnEmptyLabel() {
    assertThatThrownBy(() -> csv("text,category\nfine,ok\n\"two\nlines\",\n", "text", "category"))
        .hasMessage("data.csv:3: 'category' is missing or empty"); // the row starts on line 3
  }

  @Test
  void shouldNameTheLineOfARowWithTooFewColumns() {
    assertThatThrownBy(() -> csv("text,category\nfine,ok\nno label here\n", "text", "category"))
        .hasMessage("data.csv:3: 1 column, the header has 2");
    assertThatThrownBy(() -> csv("text,category\nfine,ok\nno, label here,x\n", "text", "category"))
        .hasMessage(
            "data.csv:3: 3 columns, the header has 2 (a text with a ',' in it must be in double"
                + " quotes)");
  }

  @Test
  void shouldNameEveryBadRowOfAFileInOneError() {
    StringBuilder csv = new StringBuilder("text,category\nfine,ok\n,no text\nno label,\n");
    StringBuilder jsonl = new StringBuilder("{\"text\":\"a\",\"category\":\"x\"}\n{\"text\":7}\n");
    for (int i = 0; i < 25; i++) {
      csv.append("\"quoted\ntext\",\n");
      jsonl.append("not json\n");
    }
    csv.append("last,ok\n");
    assertThatThrownBy(() -> csv(csv.toString(), "text", "category"))
        .hasMessageStartingWith(
            "data.csv: 27 bad rows (2 good); mend them and read the file again:\n"
                + "  data.csv:3: 'text' is missing or empty\n"
                + "  data.csv:4: 'category' is missing or empty\n"
                + "  data.csv:5: 'category' is missing or empty\n"
                + "  data.csv:7: 'category' is missing or empty\n")
        .hasMessageEndingWith("\n  data.csv:39: 'category' is missing or empty\n  ... and 7 more");
    assertThatThrownBy(() -> jsonl(jsonl.toString()))
        .hasMessageStartingWith(
            "data.jsonl: 26 bad rows (1 good); mend them and read the file again:\n"
                + "  data.jsonl:2: 'text' must be a string, not the number 7\n"
                + "  data.jsonl:3: malformed JSON: ")
        .hasMessageEndingWith("\n  ... and 6 more");
  }

  @Test
  void shouldGoOnPastARowWithTooFewOrTooManyColumnsButNotPastAnUnclosedQuote() {
    assertThatThrownBy(
            () ->
                csv(
                    "text,category\nno text,\nno label here\nfine,ok\na, b,c\n\nalso no label,\n",
                    "text",
                    "category"))
        .hasMessageStartingWith(
            "data.csv: 4 bad rows (1 good); mend them and read the file again:\n"
                + "  data.csv:2: 'category' is missing or empty\n"
                + "  data.csv:3: 1 column, the header has 2\n"
                + "  data.csv:5: 3 columns, the header has 2 (a text with a ',' in it must be in"
                + " double quotes)\n"
                + "  data.csv:7: 'category' is missing or empty");
    // An unclosed quote takes the rest of the file into its text: one error, and the read ends.
    assertThatThrownBy(() -> csv("text,category\n\"unclosed,ok\nfine,ok\n", "text", "category"))
        .hasMessageStartingWith("data.csv:2: malformed CSV row: ")
        .hasMessageNotContaining("\n");
  }

  @Test
  void shouldReadJsonLinesSkippingBlankLines() {
    assertThat(
            jsonl(
                "{\"text\":\"a\",\"category\":\"x\"}\n\n{\"text\":\"b\",\"category\":\"y\",\"extra\":1}\n"))
        .containsExactly(new LabeledText("a", "x"), new LabeledText("b", "y"));
  }

  @Test
  void shouldReadNumberedLabelsAsTheirTextAndNestedFieldsByJsonPointer() throws Exception {
    // Datasets often number their classes: {"text": ..., "label": 3}.
    assertThat(jsonl("{\"text\":\"a\",\"category\":3}\n{\"text\":\"b\",\"category\":false}\n"))
        .containsExactly(new LabeledText("a", "3"), new LabeledText("b", "false"));
    Path nested =
        Files.writeString(
            dir.resolve("events.jsonl"),
            "{\"payload\":{\"text\":\"where is my card\"},\"labels\":[{\"intent\":0}]}\n"
                + "{\"payload\":{\"text\":\"a/b ~ c\"},\"labels\":[{\"intent\":\"refund\"}]}\n");
    assertThat(LabeledData.read(nested, "/payload/text", "/labels/0/intent"))
        .containsExactly(
            new LabeledText("where is my card", "0"), new LabeledText("a/b ~ c", "refund"));
    Path missing =
        Files.writeString(dir.resolve("missing.jsonl"), "{\"payload\":{\"body\":\"x\"},\"l\":1}\n");
    assertThatThrownBy(() -> LabeledData.read(missing, "/payload/text", "l"))
        .hasMessageEndingWith("missing.jsonl:1: '/payload/text' is missing or empty");
  }

  @Test
  void shouldReadCsvSeparatedBySemicolonsOrTabsWhenTheHeaderHasNoComma() {
    assertThat(csv("text;category\n\"Hello, is my card here?\";card_arrival\n", "text", "category"))
        .containsExactly(new LabeledText("Hello, is my card here?", "card_arrival"));
    assertThat(csv("text\tcategory\nwhere, when\tcard_arrival\n", "text", "category"))
        .containsExactly(new LabeledText("where, when", "card_arrival"));
    // A comma in the header decides, whatever the rows hold.
    assertThat(csv("text,category\n\"a;b\",x\n", "text", "category"))
        .containsExactly(new LabeledText("a;b", "x"));
  }

  @Test
  void shouldSkipAByteOrderMarkAndSayWhenTheFileIsNotUtf8() throws Exception {
    // Excel's "CSV UTF-8" starts with a byte order mark, and uses CRLF.
    Path excel =
        Files.write(
            dir.resolve("excel.csv"),
            "\uFEFFtext,category\r\n\"Where is my card?\",card_arrival\r\n"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(LabeledData.read(excel))
        .containsExactly(new LabeledText("Where is my card?", "card_arrival"));
    Path lines =
        Files.write(
            dir.resolve("marked.jsonl"),
            "\uFEFF{\"text\":\"a\",\"category\":\"x\"}\n"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(LabeledData.read(lines)).containsExactly(new LabeledText("a", "x"));
    // Saved as Latin-1: "café" is not UTF-8.
    Path latin1 =
        Files.write(
            dir.resolve("latin1.csv"),
            "text,category\ncaf\u00e9 card,card_arrival\n"
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    assertThatThrownBy(() -> LabeledData.read(latin1))
        .hasMessageContaining("latin1.csv: not UTF-8 text (")
        .hasMessageEndingWith("save it as UTF-8");
  }

  @Test
  void shouldNameTheLineOfMalformedOrMistypedJson() {
    assertThatThrownBy(() -> jsonl("{\"text\":\"a\",\"category\":\"x\"}\n{\"text\": \"b\",\n"))
        .hasMessageStartingWith("data.jsonl:2: malformed JSON: ");
    assertThatThrownBy(() -> jsonl("{\"text\":\"a\",\"category\":7.5}\n"))
        .hasMessage(
            "data.jsonl:1: 'category' must be a string, an integer or a boolean, not the number 7.5");
    assertThatThrownBy(() -> jsonl("{\"text\":7,\"category\":\"x\"}\n"))
        .hasMessage("data.jsonl:1: 'text' must be a string, not the number 7");
    assertThatThrownBy(() -> jsonl("{\"text\":\"a\",\"category\":[\"x\"]}\n"))
        .hasMessage(
            "data.jsonl:1: 'category' must be a string, an integer or a boolean, not array");
    assertThatThrownBy(() -> jsonl("[1,2]\n"))
        .hasMessage("data.jsonl:1: a line must be a JSON object");
    assertThatThrownBy(() -> jsonl("{\"category\":\"x\"}\n"))
        .hasMessage("data.jsonl:1: 'text' is missing or empty");
  }

  @Test
  void shouldChooseTheFormatFromTheFileName() throws Exception {
    Path jsonl =
        Files.writeString(dir.resolve("labels.jsonl"), "{\"text\":\"a\",\"category\":\"x\"}\n");
    Path other = Files.writeString(dir.resolve("labels.txt"), "a\tx\n");

    Path tsv = Files.writeString(dir.resolve("labels.tsv"), "text\tcategory\nwhere, when\tx\n");

    assertThat(LabeledData.read(jsonl)).containsExactly(new LabeledText("a", "x"));
    assertThat(LabeledData.read(tsv)).containsExactly(new LabeledText("where, when", "x"));
    assertThatThrownBy(() -> LabeledData.read(other))
        .hasMessageContaining("labels.txt: unknown format");
  }

  @Test
  void shouldRefuseAFileWithNoExamples() {
    assertThatThrownBy(() -> csv("text,category\n", "text", "category"))
        .hasMessage("data.csv: no examples");
  }

  @Test
  void shouldBundleBanking77() {
    List<LabeledText> train = LabeledData.classpath(LabeledData.BANKING77_TRAIN);
    List<LabeledText> test = LabeledData.classpath(LabeledData.BANKING77_TEST);

    assertThat(train).hasSize(10_003);
    assertThat(test).hasSize(3_080);
    assertThat(train.stream().map(LabeledText::label).distinct()).hasSize(77);
  }

  @Test
  void shouldDigestTheExamplesInOrder() {
    List<LabeledText> ab = List.of(new LabeledText("a", "x"), new LabeledText("b", "y"));

    assertThat(LabeledData.digest(ab)).hasSize(64).isEqualTo(LabeledData.digest(List.copyOf(ab)));
    assertThat(LabeledData.digest(ab))
        .isNotEqualTo(LabeledData.digest(List.of(ab.get(1), ab.get(0))));
    // Length prefixes: moving characters between text and label changes the digest.
    assertThat(LabeledData.digest(List.of(new LabeledText("ab", "c"))))
        .isNotEqualTo(LabeledData.digest(List.of(new LabeledText("a", "bc"))));
  }
}
