package dev.llmstreams.runtime.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.MathContext;
import java.time.Duration;

/**
 * The {@code calculator} tool: exact decimal arithmetic. A hand-written recursive-descent parser
 * (no script engine, so an expression can never run code) over {@link BigDecimal} with {@link
 * MathContext#DECIMAL128}: 0.1 + 0.2 is 0.3.
 *
 * <pre>
 * expression := term (('+' | '-') term)*
 * term       := unary (('*' | '/' | '%') unary)*
 * unary      := ('-' | '+') unary | power          -2^2 is -(2^2)
 * power      := primary (('^' | '**') unary)?      right-associative: 2^3^2 is 2^9; 2^-1 is 0.5
 * primary    := number | '(' expression ')'
 * number     := digits ['.' digits] [('e' | 'E') ['+' | '-'] digits], or '.' digits
 * </pre>
 */
public final class Calculator implements Tool {
  public static final int MAX_LENGTH = 1000;
  public static final int MAX_EXPONENT = 10_000;

  /**
   * Parentheses and signs nest at most this deep, so a hostile input cannot exhaust the stream
   * thread's stack.
   */
  static final int MAX_DEPTH = 200;

  /** A plain-string value longer than this (10^5000) is written in scientific notation instead. */
  static final int MAX_PLAIN_CHARS = 2000;

  private static final MathContext MC = MathContext.DECIMAL128;

  @Override
  public String name() {
    return "calculator";
  }

  @Override
  public Outcome execute(JsonNode arguments, Duration timeLimit) {
    String expression = arguments.path("expression").asText();
    ObjectNode result = JsonNodeFactory.instance.objectNode();
    result.put("expression", expression);
    result.put("value", format(evaluate(expression)));
    return Outcome.of(result);
  }

  /**
   * The value of an expression; a {@link ToolException} says what is wrong and where (1-based
   * position).
   */
  public static BigDecimal evaluate(String expression) {
    if (expression == null || expression.isBlank()) {
      throw new ToolException("empty expression");
    }
    if (expression.length() > MAX_LENGTH) {
      throw new ToolException(
          "expression has " + expression.length() + " characters; the limit is " + MAX_LENGTH);
    }
    try {
      return new Parser(expression).parse();
    } catch (ArithmeticException e) {
      // BigDecimal's own limits (an exponent beyond the int range): the message is Java's, the
      // cause is the input.
      throw new ToolException("number out of range (" + e.getMessage() + ")");
    }
  }

  /**
   * The value as a plain decimal string without trailing zeros ("0.3", "1200"); huge or tiny:
   * scientific.
   */
  public static String format(BigDecimal value) {
    BigDecimal v = value.signum() == 0 ? BigDecimal.ZERO : value.stripTrailingZeros();
    long plainLength = (long) v.precision() + Math.abs((long) v.scale());
    return plainLength <= MAX_PLAIN_CHARS ? v.toPlainString() : v.toString();
  }

  private static final class Parser {
    private final String s;
    private int pos;
    private int depth;

    Parser(String s) {
      this.s = s;
    }

    BigDecimal parse() {
      BigDecimal v = expression();
      skipSpace();
      if (pos < s.length()) {
        throw unexpected();
      }
      return v;
    }

    private BigDecimal expression() {
      BigDecimal v = term();
      while (true) {
        char op = peek();
        if (op == '+') {
          pos++;
          v = v.add(term(), MC);
        } else if (op == '-') {
          pos++;
          v = v.subtract(term(), MC);
        } else {
          return v;
        }
      }
    }

    private BigDecimal term() {
      BigDecimal v = unary();
      while (true) {
        char op = peek();
        if (op != '*' && op != '/' && op != '%') {
          return v;
        }
        int at = pos;
        pos++;
        BigDecimal right = unary();
        if (op == '*') {
          v = v.multiply(right, MC);
        } else if (right.signum() == 0) {
          throw new ToolException("division by zero at position " + (at + 1));
        } else if (op == '/') {
          v = v.divide(right, MC);
        } else {
          v = v.remainder(right, MC);
        }
      }
    }

    private BigDecimal unary() {
      char c = peek();
      if (c == '-' || c == '+') {
        pos++;
        enter();
        BigDecimal v = unary();
        depth--;
        return c == '-' ? v.negate() : v;
      }
      return power();
    }

    private BigDecimal power() {
      BigDecimal base = primary();
      int op = peek() == '^' ? 1 : s.startsWith("**", pos) ? 2 : 0; // ** as Python and JS write it
      if (op == 0) {
        return base;
      }
      int at = pos;
      pos += op;
      enter();
      BigDecimal exponent = unary();
      depth--;
      int n;
      try {
        n = exponent.stripTrailingZeros().intValueExact();
      } catch (ArithmeticException e) {
        throw new ToolException(
            "the exponent at position "
                + (at + op + 1)
                + " must be a whole number, not "
                + format(exponent));
      }
      if (Math.abs((long) n) > MAX_EXPONENT) {
        throw new ToolException(
            "the exponent "
                + n
                + " at position "
                + (at + op + 1)
                + " is beyond the limit of +-"
                + MAX_EXPONENT);
      }
      if (n < 0 && base.signum() == 0) {
        throw new ToolException("division by zero: 0 to a negative power at position " + (at + 1));
      }
      return base.pow(n, MC);
    }

    private BigDecimal primary() {
      char c = peek();
      if (c == '(') {
        int open = pos;
        pos++;
        enter();
        BigDecimal v = expression();
        depth--;
        if (peek() != ')') {
          if (pos >= s.length()) {
            throw new ToolException("missing ')' for the '(' at position " + (open + 1));
          }
          throw unexpected();
        }
        pos++;
        return v;
      }
      if ((c >= '0' && c <= '9') || c == '.') {
        return number();
      }
      throw unexpected();
    }

    private BigDecimal number() {
      int start = pos;
      int digits = skipDigits();
      if (pos < s.length() && s.charAt(pos) == '.') {
        pos++;
        digits += skipDigits();
      }
      if (digits == 0) {
        throw new ToolException("malformed number at position " + (start + 1));
      }
      if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
        int e = pos;
        pos++;
        if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) {
          pos++;
        }
        if (skipDigits() == 0) {
          throw new ToolException("malformed exponent at position " + (e + 1));
        }
      }
      BigDecimal v;
      try {
        v = new BigDecimal(s.substring(start, pos));
      } catch (NumberFormatException e) {
        throw new ToolException("the number at position " + (start + 1) + " is out of range");
      }
      if (Math.abs((long) v.precision() - v.scale()) > MAX_EXPONENT + 1L) {
        throw new ToolException(
            "the number at position " + (start + 1) + " is beyond 10^" + MAX_EXPONENT);
      }
      return v.round(MC);
    }

    private int skipDigits() {
      int n = 0;
      while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
        pos++;
        n++;
      }
      return n;
    }

    /** The next non-space character (consumed up to it), or 0 at the end. */
    private char peek() {
      skipSpace();
      return pos < s.length() ? s.charAt(pos) : 0;
    }

    private void skipSpace() {
      while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
        pos++;
      }
    }

    private void enter() {
      if (++depth > MAX_DEPTH) {
        throw new ToolException(
            "expression nests deeper than " + MAX_DEPTH + " at position " + pos);
      }
    }

    private ToolException unexpected() {
      skipSpace();
      if (pos >= s.length()) {
        return new ToolException("unexpected end of expression");
      }
      int cp = s.codePointAt(pos);
      String shown =
          cp < 0x20 || cp == 0x7f
              ? String.format("U+%04X", cp)
              : "'" + new String(Character.toChars(cp)) + "'";
      return new ToolException("unexpected " + shown + " at position " + (pos + 1));
    }
  }
}
