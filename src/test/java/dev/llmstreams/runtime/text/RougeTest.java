package dev.llmstreams.runtime.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Scores worked out by hand. */
class RougeTest {
  private static final String CANDIDATE = "The cat sat on the mat.";
  private static final String REFERENCE = "the cat was on the mat";

  private static void assertScore(Rouge.Score s, double precision, double recall, double f1) {
    assertThat(s.precision()).isCloseTo(precision, within(1e-9));
    assertThat(s.recall()).isCloseTo(recall, within(1e-9));
    assertThat(s.f1()).isCloseTo(f1, within(1e-9));
  }

  @Test
  void shouldTokenizeLowerCasedLettersAndDigitsOnly() {
    assertThat(Rouge.tokens("It's 2 PM, Dr. Ng! {vocalsound}"))
        .containsExactly("it", "s", "2", "pm", "dr", "ng", "vocalsound");
  }

  @Test
  void shouldCountUnigramAndBigramOverlap() {
    // Unigrams: the x2, cat, on, mat match (5 of 6 each side); "sat" and "was" do not.
    assertScore(Rouge.n(CANDIDATE, REFERENCE, 1), 5.0 / 6, 5.0 / 6, 5.0 / 6);
    // Bigrams: the-cat, on-the, the-mat match (3 of 5 each side); cat-sat, sat-on / cat-was, was-on
    // do not.
    assertScore(Rouge.n(CANDIDATE, REFERENCE, 2), 0.6, 0.6, 0.6);
  }

  @Test
  void shouldTakeTheLongestCommonSubsequenceForRougeL() {
    // LCS "the cat on the mat": 5 of 6 tokens on each side.
    assertScore(Rouge.l(CANDIDATE, REFERENCE), 5.0 / 6, 5.0 / 6, 5.0 / 6);
    // LCS of "a b c d e" and "e a c b d" is "a c d" / "a b d": 3; P = 3/5, R = 3/5.
    assertScore(Rouge.l("a b c d e", "e a c b d"), 0.6, 0.6, 0.6);
  }

  @Test
  void shouldWeighPrecisionAndRecallApartWhenLengthsDiffer() {
    // "the cat" against "the cat sat": R1 = 2/3, P1 = 1, F1 = 2 * (2/3) / (5/3) = 0.8; bigrams 1 of
    // 1 against 1 of 2.
    assertScore(Rouge.n("the cat", "the cat sat", 1), 1, 2.0 / 3, 0.8);
    assertScore(Rouge.n("the cat", "the cat sat", 2), 1, 0.5, 2.0 / 3);
    assertScore(Rouge.l("the cat", "the cat sat"), 1, 2.0 / 3, 0.8);
  }

  @Test
  void shouldClipRepeatedCandidateWords() {
    // "the" three times matches the reference's one "the" once: P = 1/3, R = 1/2, F = 2 * (1/6) /
    // (5/6) = 0.4.
    assertScore(Rouge.n("the the the", "the cat", 1), 1.0 / 3, 0.5, 0.4);
  }

  @Test
  void shouldScoreZeroWhenEitherSideIsEmpty() {
    assertScore(Rouge.n("", "the cat", 1), 0, 0, 0);
    assertScore(Rouge.n("the cat", "", 2), 0, 0, 0);
    assertScore(Rouge.l("", ""), 0, 0, 0);
  }
}
