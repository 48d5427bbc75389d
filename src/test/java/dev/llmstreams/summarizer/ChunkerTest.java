package dev.llmstreams.summarizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstreams.runtime.text.TokenCounter;
import dev.llmstreams.summarizer.Chunker.Chunk;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ChunkerTest {

  private static final TokenCounter CL100K = TokenCounter.cl100k();

  /**
   * QMSum meeting Bed003 (MIT, see src/test/resources/qmsum/LICENSE), one "Speaker: utterance" per
   * line.
   */
  private static String transcript;

  @BeforeAll
  static void loadTranscript() throws IOException {
    try (InputStream in = ChunkerTest.class.getResourceAsStream("/qmsum/Bed003.txt")) {
      assertThat(in).as("test resource qmsum/Bed003.txt").isNotNull();
      transcript = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(transcript).hasSizeGreaterThan(50_000);
  }

  // ------------------------------------------------------------------------------------------
  // arguments

  @ParameterizedTest
  @CsvSource({
    "15, 0, maxTokens must be >= 16 but was 15",
    "-1, 0, maxTokens must be >= 16 but was -1",
    "100, -1, overlapTokens must be >= 0 but was -1",
    "100, 50, overlapTokens must be < maxTokens/2 (maxTokens=100) but was 50",
    "16, 8, overlapTokens must be < maxTokens/2 (maxTokens=16) but was 8"
  })
  void shouldRejectInvalidArgumentsWithAClearMessage(int max, int overlap, String message) {
    assertThatThrownBy(() -> new Chunker(CL100K, max, overlap))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(message);
  }

  @Test
  void shouldAcceptTheSmallestValidArguments() {
    Chunker chunker = new Chunker(CL100K, 16, 7);
    assertThat(chunker.maxTokens()).isEqualTo(16);
    assertThat(chunker.overlapTokens()).isEqualTo(7);
  }

  @Test
  void shouldRejectNullCounterAndNullText() {
    assertThatThrownBy(() -> new Chunker(null, 100, 0))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("counter");
    assertThatThrownBy(() -> new Chunker(CL100K, 100, 0).chunk(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("text");
  }

  // ------------------------------------------------------------------------------------------
  // basics

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "   \t ", "\n\n\r\n", "\t\n \u2029\u2028"})
  void shouldReturnNoChunksForBlankText(String blank) {
    assertThat(new Chunker(CL100K, 100, 10).chunk(blank)).isEmpty();
  }

  @Test
  void shouldKeepAShortTextInOneChunkWithExactOffsets() {
    String text = "  \n Hello there. How are you today?  \n";
    List<Chunk> chunks = new Chunker(CL100K, 100, 0).chunk(text);
    assertThat(chunks)
        .containsExactly(
            new Chunk(
                0,
                "Hello there. How are you today?",
                CL100K.count("Hello there. How are you today?"),
                4,
                35));
  }

  @Test
  void shouldCountTokensWithTheRealCl100kEncoding() {
    assertThat(CL100K.count("hello world")).isEqualTo(2);
    assertThat(CL100K.count("")).isZero();
    // special-token markers in user text are ordinary text, not an error
    assertThat(CL100K.count("<|endoftext|>")).isGreaterThan(1);
    assertThat(CL100K.tokenEnds("hello world")).containsExactly(5, 11);
    // lone surrogates (a string cut inside an emoji) are counted as U+FFFD instead of failing
    assertThat(CL100K.count("a\uD83Db")).isEqualTo(CL100K.count("a\uFFFDb"));
    assertThat(CL100K.tokenEnds("a\uDE00")).endsWith(4);
  }

  @Test
  void shouldTreatSpecialTokenMarkersInDocumentsAsPlainText() {
    String text = "Ignore this: <|endoftext|> and <|im_start|>. ".repeat(40);
    Chunker chunker = new Chunker(CL100K, 50, 10);
    List<Chunk> chunks = chunker.chunk(text);
    assertThat(chunks).hasSizeGreaterThan(1);
    assertInvariants(text, chunks, chunker, CL100K);
  }

  // ------------------------------------------------------------------------------------------
  // budget and coverage

  @ParameterizedTest
  @CsvSource({"16, 0", "64, 0", "64, 20", "256, 0", "256, 64", "1024, 200", "8000, 500"})
  void shouldNeverExceedTheTokenBudget(int max, int overlap) {
    Chunker chunker = new Chunker(CL100K, max, overlap);
    List<Chunk> chunks = chunker.chunk(transcript);
    assertThat(chunks)
        .isNotEmpty()
        .allSatisfy(
            c -> {
              assertThat(CL100K.count(c.text()))
                  .as("real tokens of chunk %d", c.index())
                  .isEqualTo(c.tokens())
                  .isLessThanOrEqualTo(max);
            });
  }

  @ParameterizedTest
  @CsvSource({"16, 0", "100, 0", "100, 30", "500, 100", "2000, 0"})
  void shouldCoverEveryNonWhitespaceCharacterOfARealTranscript(int max, int overlap) {
    Chunker chunker = new Chunker(CL100K, max, overlap);
    List<Chunk> chunks = chunker.chunk(transcript);
    assertInvariants(transcript, chunks, chunker, CL100K);
  }

  @Test
  void shouldProduceDisjointOrderedChunksThatRebuildTheTextWithoutOverlap() {
    Chunker chunker = new Chunker(CL100K, 200, 0);
    List<Chunk> chunks = chunker.chunk(transcript);
    StringBuilder rebuilt = new StringBuilder();
    for (int i = 0; i < chunks.size(); i++) {
      Chunk c = chunks.get(i);
      if (i > 0) {
        assertThat(c.startChar()).isGreaterThanOrEqualTo(chunks.get(i - 1).endChar());
        rebuilt.append(
            transcript, chunks.get(i - 1).endChar(), c.startChar()); // the gap: whitespace only
      }
      rebuilt.append(c.text());
    }
    assertThat(transcript.strip()).isEqualTo(rebuilt.toString());
  }

  @Test
  void shouldPackWholeSentencesGreedily() {
    // every sentence is the same; the chunker must fit as many whole sentences as the budget allows
    String sentence = "The quick brown fox jumps over the lazy dog.";
    int perSentence = CL100K.count(sentence); // 10
    String text = (sentence + " ").repeat(100);
    Chunker chunker = new Chunker(CL100K, 5 * perSentence + 3, 0);
    List<Chunk> chunks = chunker.chunk(text);
    assertThat(chunks)
        .hasSize(20)
        .allSatisfy(
            c -> {
              assertThat(c.text()).isEqualTo((sentence + " ").repeat(5).strip());
              assertThat(c.tokens()).isEqualTo(5 * perSentence);
            });
    assertInvariants(text, chunks, chunker, CL100K);
  }

  @Test
  void shouldTreatLineBreaksAndParagraphsAsSentenceBoundaries() {
    // no sentence punctuation at all: only the newlines separate the utterances
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 30; i++) {
      text.append("speaker ")
          .append(i % 3)
          .append(" says uh we should maybe look at the belief net again")
          .append(i % 4 == 3 ? "\n\n" : "\n");
    }
    int lineTokens = CL100K.count("speaker 1 says uh we should maybe look at the belief net again");
    Chunker chunker = new Chunker(CL100K, lineTokens + 2, 0);
    List<Chunk> chunks = chunker.chunk(text.toString());
    assertThat(chunks)
        .hasSize(30)
        .allSatisfy(
            c ->
                assertThat(c.text())
                    .doesNotContain("\n")
                    .startsWith("speaker")
                    .endsWith("belief net again"));
    assertInvariants(text.toString(), chunks, chunker, CL100K);
  }

  // ------------------------------------------------------------------------------------------
  // overlap

  @Test
  void shouldStartEachChunkWithTrailingWholeSentencesOfThePreviousOne() {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 60; i++) {
      b.append("Sentence number ").append(i).append(" talks about the budget. ");
    }
    String text = b.toString();
    int sentenceTokens = CL100K.count("Sentence number 10 talks about the budget."); // 8
    Chunker chunker = new Chunker(CL100K, 100, 2 * sentenceTokens + 1);
    List<Chunk> chunks = chunker.chunk(text);
    assertThat(chunks).hasSizeGreaterThan(3);
    for (int i = 1; i < chunks.size(); i++) {
      Chunk prev = chunks.get(i - 1);
      Chunk cur = chunks.get(i);
      assertThat(cur.startChar())
          .as("chunk %d overlaps the previous one", i)
          .isGreaterThan(prev.startChar())
          .isLessThan(prev.endChar());
      String overlap = text.substring(cur.startChar(), prev.endChar());
      // exactly the last two whole sentences of the previous chunk
      assertThat(overlap).startsWith("Sentence number ").endsWith("budget.");
      assertThat(overlap.split("(?<=\\.) ")).hasSize(2);
      assertThat(prev.text()).endsWith(overlap);
      assertThat(CL100K.count(overlap)).isLessThanOrEqualTo(chunker.overlapTokens());
    }
    assertInvariants(text, chunks, chunker, CL100K);
  }

  @Test
  void shouldSkipOverlapWhenTheLastSentenceAloneExceedsIt() {
    String sentence =
        "This rather long sentence about the recursive summarizer pattern has clearly more than ten tokens.";
    assertThat(CL100K.count(sentence)).isGreaterThan(10);
    String text = (sentence + " ").repeat(30);
    Chunker chunker = new Chunker(CL100K, 64, 10);
    List<Chunk> chunks = chunker.chunk(text);
    assertThat(chunks).hasSizeGreaterThan(3);
    for (int i = 1; i < chunks.size(); i++) {
      assertThat(chunks.get(i).startChar()).isGreaterThanOrEqualTo(chunks.get(i - 1).endChar());
    }
    assertInvariants(text, chunks, chunker, CL100K);
  }

  @Test
  void shouldKeepOverlapWithinItsBudgetOnARealTranscript() {
    Chunker chunker = new Chunker(CL100K, 300, 60);
    List<Chunk> chunks = chunker.chunk(transcript);
    int overlapping = 0;
    for (int i = 1; i < chunks.size(); i++) {
      Chunk prev = chunks.get(i - 1);
      Chunk cur = chunks.get(i);
      if (cur.startChar() < prev.endChar()) {
        overlapping++;
        assertThat(CL100K.count(transcript.substring(cur.startChar(), prev.endChar())))
            .isLessThanOrEqualTo(60);
      }
    }
    assertThat(overlapping)
        .as("most chunks of a transcript of short utterances overlap")
        .isGreaterThan(chunks.size() / 2);
    assertInvariants(transcript, chunks, chunker, CL100K);
  }

  // ------------------------------------------------------------------------------------------ long
  // sentences

  @Test
  void shouldSplitASentenceLongerThanTheBudgetBetweenWords() {
    Random random = new Random(7);
    String[] words = {
      "so",
      "the",
      "belief",
      "net",
      "would",
      "um",
      "compute",
      "the",
      "probability",
      "that",
      "tourist",
      "wants",
      "to",
      "enter",
      "building",
      "and",
      "then",
      "we",
      "decide"
    };
    StringBuilder b = new StringBuilder("Start ");
    for (int i = 0; i < 5000; i++) {
      b.append(words[random.nextInt(words.length)]).append(' ');
    }
    String text = b.append("end.").toString();
    Chunker chunker = new Chunker(CL100K, 100, 0);
    List<Chunk> chunks = chunker.chunk(text);
    assertThat(chunks).hasSizeGreaterThan(40);
    assertThat(chunks.subList(0, chunks.size() - 1))
        .allSatisfy(
            c -> {
              // cut between words: a chunk neither starts nor ends inside a word
              assertThat(c.startChar() == 0 || text.charAt(c.startChar() - 1) == ' ').isTrue();
              assertThat(c.endChar() == text.length() || text.charAt(c.endChar()) == ' ').isTrue();
              assertThat(c.tokens()).isGreaterThan(80); // and the pieces are well filled
            });
    assertInvariants(text, chunks, chunker, CL100K);
  }

  @Test
  void shouldSplitAWordLongerThanTheBudgetOnTokenBoundariesWithoutDroppingAnything() {
    Random random = new Random(11);
    StringBuilder b = new StringBuilder("Here comes a blob: ");
    for (int i = 0; i < 20_000; i++) {
      b.append((char) ('a' + random.nextInt(26)));
    }
    String text = b.append(" and that was the blob.").toString();
    Chunker chunker = new Chunker(CL100K, 50, 0);
    List<Chunk> chunks = chunker.chunk(text);
    assertThat(chunks).hasSizeGreaterThan(20_000 / (50 * 4));
    assertThat(String.join("", chunks.stream().map(Chunk::text).toList()).replace(" ", ""))
        .isEqualTo(text.replace(" ", ""));
    assertThat(chunks.subList(1, chunks.size() - 1))
        .allSatisfy(c -> assertThat(c.tokens()).isGreaterThan(40));
    assertInvariants(text, chunks, chunker, CL100K);
  }

  @Test
  void shouldSplitLongSentencesWithACounterThatCannotReportTokenBoundaries() {
    TokenCounter charCounter = s -> s.length(); // no tokenEnds(): density fallback
    String text = "x".repeat(1000) + " " + "word ".repeat(300) + "\n" + "\uD83D\uDE00".repeat(100);
    Chunker chunker = new Chunker(charCounter, 16, 0);
    List<Chunk> chunks = chunker.chunk(text);
    assertThat(chunks).allSatisfy(c -> assertThat(c.text().length()).isLessThanOrEqualTo(16));
    assertInvariants(text, chunks, chunker, charCounter);
  }

  // ------------------------------------------------------------------------------------------
  // unicode

  @Test
  void shouldHandleEmojiWithoutSplittingSurrogatePairs() {
    String text =
        ("Great meeting 🎉🎉! The team 👩‍👩‍👧‍👦 agreed on the plan 🚀. Next steps: 📅 ship it 🇩🇪🇫🇷. ")
                .repeat(20)
            + "🙂".repeat(400);
    for (int max : new int[] {16, 17, 23, 64}) {
      Chunker chunker = new Chunker(CL100K, max, max / 4);
      List<Chunk> chunks = chunker.chunk(text);
      assertThat(chunks).hasSizeGreaterThan(5);
      assertInvariants(text, chunks, chunker, CL100K);
    }
  }

  @Test
  void shouldChunkCjkTextWithoutSpaces() {
    String sentence = "我们今天讨论了信念网络的设计以及游客进入建筑物的概率。";
    String text = sentence.repeat(50) + "東京都の会議では要約の再帰的なパターンについて話し合いました".repeat(20);
    assertThat(text).doesNotContain(" ");
    Chunker chunker = new Chunker(CL100K, 40, 0);
    List<Chunk> chunks = chunker.chunk(text);
    assertThat(chunks).hasSizeGreaterThan(10);
    // no whitespace anywhere, no overlap: the chunks concatenate back to the exact text
    assertThat(String.join("", chunks.stream().map(Chunk::text).toList())).isEqualTo(text);
    // the first chunks are whole sentences (the sentence iterator understands '。')
    assertThat(chunks.get(0).text()).endsWith("。");
    assertInvariants(text, chunks, chunker, CL100K);
    Chunker overlapping = new Chunker(CL100K, 100, 30);
    assertInvariants(text, overlapping.chunk(text), overlapping, CL100K);
  }

  // ------------------------------------------------------------------------------------------
  // scale

  @Test
  void shouldChunkTenMegabytesInLinearTime() {
    String[] lines = transcript.split("\n");
    Random random = new Random(42);
    StringBuilder b = new StringBuilder(10 * 1024 * 1024 + 1000);
    while (b.length() < 10 * 1024 * 1024) {
      b.append(lines[random.nextInt(lines.length)]).append(random.nextInt(20) == 0 ? "\n\n" : "\n");
    }
    String text = b.toString();
    Chunker chunker = new Chunker(CL100K, 1000, 100);
    chunker.chunk(text.substring(0, 2 * 1024 * 1024)); // warm up the encoder and the JIT

    long t0 = System.nanoTime();
    List<Chunk> chunks = chunker.chunk(text);
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf(
        "Chunker throughput: %,d chars in %.2f s = %,.0f chars/s (%d chunks, maxTokens=1000, overlap=100)%n",
        text.length(), seconds, text.length() / seconds, chunks.size());

    long tokens = chunks.stream().mapToLong(Chunk::tokens).sum();
    assertThat(chunks.size()).isGreaterThan(2000);
    assertThat(tokens / chunks.size()).as("average chunk is well filled").isGreaterThan(800);
    assertInvariants(text, chunks, chunker, CL100K);
  }

  @Test
  void shouldBeSafeToShareAcrossThreads() {
    Chunker chunker = new Chunker(CL100K, 128, 16);
    List<Chunk> expected = chunker.chunk(transcript);
    List<List<Chunk>> results =
        IntStream.range(0, 8).parallel().mapToObj(i -> chunker.chunk(transcript)).toList();
    assertThat(results).allSatisfy(r -> assertThat(r).isEqualTo(expected));
  }

  // ------------------------------------------------------------------------------------------
  // property

  @Test
  void shouldKeepAllInvariantsForRandomTexts() {
    Random random = new Random(20240607L);
    String[] pieces = {
      "the",
      "belief",
      "net",
      "um",
      "so",
      "OK",
      "Grad A:",
      "{disfmarker}",
      "tourist",
      "42",
      "3.14",
      "e.g.",
      "Dr.",
      "U.S.",
      "?",
      "!",
      ".",
      "...",
      ",",
      "'s",
      "🙂",
      "👩‍💻",
      "🇯🇵",
      "会議",
      "要約。",
      "東京",
      "é",
      "naïve",
      "Ωmega",
      "\u00a0",
      "\t",
      "<|endoftext|>",
      "http://x.y/z?a=b",
      "—",
      "\"quoted\"",
      "a".repeat(60),
      "word".repeat(30),
      "\uD800",
      "\uDC00"
    }; // lone surrogates too
    String[] separators = {
      " ", " ", " ", " ", "  ", "\n", "\n\n", "\r\n", ". ", "? ", "", "\u2029", "\t"
    };
    TokenCounter charCounter = s -> s.length();
    for (int round = 0; round < 200; round++) {
      StringBuilder b = new StringBuilder();
      int words = random.nextInt(round % 10 == 0 ? 5000 : 400);
      for (int w = 0; w < words; w++) {
        b.append(pieces[random.nextInt(pieces.length)])
            .append(separators[random.nextInt(separators.length)]);
      }
      String text = b.toString();
      int max = 16 + random.nextInt(300);
      int overlap = random.nextBoolean() ? 0 : random.nextInt((max + 1) / 2);
      TokenCounter counter = round % 5 == 4 ? charCounter : CL100K;
      Chunker chunker = new Chunker(counter, max, overlap);
      List<Chunk> chunks = chunker.chunk(text);
      assertInvariants(text, chunks, chunker, counter);
      assertThat(chunker.chunk(text)).as("deterministic").isEqualTo(chunks);
    }
  }

  // ------------------------------------------------------------------------------------------
  // helpers

  /** The contract of {@link Chunker#chunk}, checked with the real counter. */
  static void assertInvariants(
      String text, List<Chunk> chunks, Chunker chunker, TokenCounter counter) {
    boolean blank = text.isBlank();
    assertThat(chunks.isEmpty()).as("empty iff blank").isEqualTo(blank);
    int[] coverDelta = new int[text.length() + 1];
    for (int i = 0; i < chunks.size(); i++) {
      Chunk c = chunks.get(i);
      String where = "chunk " + i + " of " + chunker;
      assertThat(c.index()).as(where).isEqualTo(i);
      assertThat(text.substring(c.startChar(), c.endChar())).as(where).isEqualTo(c.text());
      assertThat(c.text()).as(where).isNotBlank();
      assertThat(Character.isWhitespace(c.text().charAt(0)))
          .as(where + " starts on non-whitespace")
          .isFalse();
      assertThat(Character.isWhitespace(c.text().charAt(c.text().length() - 1)))
          .as(where)
          .isFalse();
      assertThat(c.tokens())
          .as(where + " tokens")
          .isEqualTo(counter.count(c.text()))
          .isLessThanOrEqualTo(chunker.maxTokens())
          .isPositive();
      assertThat(splitsSurrogatePair(text, c.startChar())).as(where + " start").isFalse();
      assertThat(splitsSurrogatePair(text, c.endChar())).as(where + " end").isFalse();
      if (i > 0) {
        Chunk prev = chunks.get(i - 1);
        assertThat(c.startChar()).as(where + " in order").isGreaterThan(prev.startChar());
        assertThat(c.endChar()).as(where + " in order").isGreaterThan(prev.endChar());
        if (chunker.overlapTokens() == 0) {
          assertThat(c.startChar()).as(where + " disjoint").isGreaterThanOrEqualTo(prev.endChar());
        } else if (c.startChar() < prev.endChar()) {
          assertThat(counter.count(text.substring(c.startChar(), prev.endChar())))
              .as(where + " overlap tokens")
              .isLessThanOrEqualTo(chunker.overlapTokens());
        }
      }
      coverDelta[c.startChar()]++;
      coverDelta[c.endChar()]--;
    }
    int depth = 0;
    for (int p = 0; p < text.length(); p++) {
      depth += coverDelta[p];
      if (depth == 0 && !Character.isWhitespace(text.charAt(p))) {
        throw new AssertionError(
            "character " + p + " ('" + text.charAt(p) + "') is in no chunk of " + chunker);
      }
    }
  }

  private static boolean splitsSurrogatePair(String text, int offset) {
    return offset > 0
        && offset < text.length()
        && Character.isHighSurrogate(text.charAt(offset - 1))
        && Character.isLowSurrogate(text.charAt(offset));
  }
}
