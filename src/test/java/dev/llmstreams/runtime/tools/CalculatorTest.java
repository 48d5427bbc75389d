package dev.llmstreams.runtime.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CalculatorTest {
  private static String eval(String expression) {
    return Calculator.format(Calculator.evaluate(expression));
  }

  @ParameterizedTest(name = "{0} = {1}")
  @CsvSource(
      delimiter = '=',
      value = {
        "1 + 2 = 3",
        "2 + 3 * 4 = 14",
        "(2 + 3) * 4 = 20",
        "10 - 4 - 3 = 3",
        "100 / 10 / 5 = 2",
        "2 * 3 % 4 = 2",
        "17 % 5 = 2",
        "-17 % 5 = -2",
        "2 ^ 3 ^ 2 = 512",
        "(2 ^ 3) ^ 2 = 64",
        "-2 ^ 2 = -4",
        "(-2) ^ 2 = 4",
        "2 ^ -1 = 0.5",
        "2 ^ -2 ^ 2 = 0.0625",
        "--3 = 3",
        "+4 - -4 = 8",
        "3 * -2 = -6",
        "0.1 + 0.2 = 0.3",
        "1.10 + 2.20 = 3.3",
        "1 / 3 = 0.3333333333333333333333333333333333",
        "2 / 3 = 0.6666666666666666666666666666666667",
        "(1250 * 0.15) + 42 = 229.5",
        "1e3 + 1 = 1001",
        "1.5E-2 * 2 = 0.03",
        "2.5e+2 = 250",
        ".5 + 5. = 5.5",
        "  7   *(  6 ) = 42",
        "10 ^ 30 = 1000000000000000000000000000000",
        "0 ^ 0 = 1",
        "1.5 * 4 = 6",
        "0 * -1 = 0",
        "0.000 = 0",
        "99999999999999999999 + 1 = 100000000000000000000",
        "2 ^ 2.0 = 4",
        "2 ** 10 = 1024",
        "2**3**2 = 512",
        "-2 ** 2 = -4",
        "2 ** -1 * 4 = 2",
        "3 * 2 ** 2 = 12"
      })
  void shouldEvaluateWithPrecedenceAndExactDecimals(String expression, String value) {
    assertThat(eval(expression.trim())).isEqualTo(value.trim());
  }

  @Test
  void shouldRoundToThirtyFourSignificantDigits() {
    // 2^200 = 1606938044258990275541962092341162|602522202993782792835301376, rounded half-even at
    // 34 digits.
    assertThat(eval("2 ^ 200")).isEqualTo("1606938044258990275541962092341163" + "0".repeat(27));
  }

  @Test
  void shouldWriteHugeValuesInScientificNotationRatherThanThousandsOfDigits() {
    assertThat(eval("10 ^ 10000")).isEqualTo("1E+10000");
    assertThat(eval("0.1 ^ 3000")).isEqualTo("1E-3000");
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "1 / 0                 | division by zero at position 3",
        "5 % (2 - 2)           | division by zero at position 3",
        "0 ^ -1                | division by zero",
        "(1 + 2))              | unexpected ')' at position 8",
        "(1 + 2) )             | unexpected ')' at position 9",
        "(1 + 2                | missing ')' for the '(' at position 1",
        "1 +                   | unexpected end of expression",
        "* 2                   | unexpected '*' at position 1",
        "2 * * 3               | unexpected '*' at position 5",
        "2 *** 3               | unexpected '*' at position 5",
        "2 ** 0.5              | the exponent at position 5 must be a whole number, not 0.5",
        "1 2                   | unexpected '2' at position 3",
        "2 ^ 0.5               | must be a whole number, not 0.5",
        "2 ^ 10001             | beyond the limit of +-10000",
        "1e99999               | beyond 10^10000",
        "1e9999999999999       | out of range",
        "1.2.3                 | unexpected '.' at position 4",
        "1e                    | malformed exponent at position 2",
        ".                     | malformed number at position 1",
        "abs(2)                | unexpected 'a' at position 1",
        "1 + x                 | unexpected 'x' at position 5",
        "٣ + 1                 | unexpected '٣' at position 1"
      })
  void shouldExplainWhatIsWrongAndWhere(String expression, String message) {
    assertThatThrownBy(() -> Calculator.evaluate(expression.trim()))
        .isInstanceOf(ToolException.class)
        .hasMessageContaining(message.trim());
  }

  @Test
  void shouldRefuseEmptyTooLongAndTooDeepInput() {
    assertThatThrownBy(() -> Calculator.evaluate("   ")).hasMessage("empty expression");
    assertThatThrownBy(() -> Calculator.evaluate("1+".repeat(500) + "1"))
        .hasMessage("expression has 1001 characters; the limit is 1000");
    assertThatThrownBy(() -> Calculator.evaluate("(".repeat(300) + "1" + ")".repeat(300)))
        .hasMessageContaining("nests deeper than 200");
    assertThatThrownBy(() -> Calculator.evaluate("-".repeat(999) + "1"))
        .hasMessageContaining("nests deeper than 200");
  }

  @Test
  void shouldNeverRunTextAsCode() {
    assertThatThrownBy(() -> Calculator.evaluate("java.lang.System.exit(1)"))
        .hasMessage("unexpected 'j' at position 1");
    assertThatThrownBy(() -> Calculator.evaluate("1; rm -rf /"))
        .hasMessage("unexpected ';' at position 2");
    assertThatThrownBy(() -> Calculator.evaluate("1\u0000"))
        .hasMessage("unexpected U+0000 at position 2");
  }

  @Test
  void shouldReportOverflowOfRepeatedPowersAsOutOfRange() {
    assertThatThrownBy(() -> Calculator.evaluate("((10 ^ 10000) ^ 10000) ^ 10000"))
        .isInstanceOf(ToolException.class)
        .hasMessageContaining("out of range");
  }

  @Test
  void shouldAnswerWithTheExpressionAndThePlainValue() throws Exception {
    JsonNode result =
        new Calculator()
            .execute(Json.tree("{\"expression\":\"0.1 + 0.2\"}"), Duration.ofSeconds(1))
            .result();
    assertThat(result).isEqualTo(Json.tree("{\"expression\":\"0.1 + 0.2\",\"value\":\"0.3\"}"));
  }
}
