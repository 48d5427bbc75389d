package dev.llmstreams.runtime.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;

/**
 * Coverage-guided fuzzing of the calculator's parser ({@link Calculator#evaluate}): the expression
 * an LLM (or anyone writing to {@code tool-calls.calculator}) sends.
 *
 * <p>Input: the expression, UTF-8. Contract:
 *
 * <ul>
 *   <li>clean: a value, or a {@link ToolException} (its message is what the caller sees).
 *   <li>a value formats ({@link Calculator#format}) to text that evaluates to the same number, or,
 *       when that text is beyond the limits on input (length, exponent), is refused with a {@link
 *       ToolException}.
 *   <li>anything else is a finding: ArithmeticException, NumberFormatException or any other
 *       exception escaping, StackOverflowError, OutOfMemoryError, or a hang (libFuzzer's -timeout).
 * </ul>
 */
class CalculatorFuzzTest {
  @FuzzTest
  @DictionaryEntries({"^", "**", "e", "E+", "e-", "(", ")", "%", ".", "9999", "-", "*", "/"})
  void evaluate(byte[] data) {
    String expression = new String(data, StandardCharsets.UTF_8);
    BigDecimal value;
    try {
      value = Calculator.evaluate(expression);
    } catch (ToolException refused) {
      assertThat(refused.getMessage()).isNotBlank();
      return;
    }
    String text = Calculator.format(value);
    BigDecimal again;
    try {
      again = Calculator.evaluate(text);
    } catch (ToolException beyondInputLimits) {
      return;
    }
    assertThat(again).as("%s = %s, read back", expression, text).isEqualByComparingTo(value);
  }
}
