package dev.llmstreams.llm.offline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.runtime.tools.Calculator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The arithmetic the offline engine finds in a goal's text, as the calculator then reads it. */
class ArgumentExtractorTest {
  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "What is (12.5 * 4) + 7? | (12.5 * 4) + 7 | 57",
        "What is 17 times 23? | 17 * 23 | 391",
        "Add 2 and 40. | (2 + 40) | 42",
        "what is the sum of 1.5 and 2.25 | (1.5 + 2.25) | 3.75",
        "Subtract 3 from 10, please | (10 - 3) | 7",
        "the difference between 10 and 4 | (10 - 4) | 6",
        "Multiply 6 by 7 | (6 * 7) | 42",
        "the product of 3 and -2 | (3 * -2) | -6",
        "Divide 9 by 4 | (9 / 4) | 2.25",
        "What is 3 x 4? | 3 * 4 | 12",
        "What is 3×4 plus 1? | 3 * 4 + 1 | 13",
        "12 ÷ 4 minus 1 | 12 / 4 - 1 | 2",
        "7 multiplied by 6 divided by 3 | 7 * 6 / 3 | 14",
        "2 to the power of 10 | 2 ^ 10 | 1024",
        "17 mod 5 | 17 % 5 | 2",
        "ADD 1 AND 2 TIMES 3 | (1 + 2) * 3 | 9",
      })
  void findsArithmeticWrittenInSymbolsOrWords(String text, String expression, String value) {
    assertThat(ArgumentExtractor.expression(text)).isEqualTo(expression);
    assertThat(Calculator.format(Calculator.evaluate(expression))).isEqualTo(value);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "Take the pill 3 times a day",
        "Add milk and sugar",
        "my card was charged twice",
        "what is the plus side of 2 options",
      })
  void findsNoneWhereThereIsNoArithmetic(String text) {
    assertThat(ArgumentExtractor.expression(text)).isNull();
  }
}
