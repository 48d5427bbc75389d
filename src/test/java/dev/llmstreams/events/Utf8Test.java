package dev.llmstreams.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8Test {
  @Test
  void shouldFindNothingInUtf8() {
    byte[] text = "{\"goal\":\"Caf\u00e9 \u2603 \uD83D\uDE00\"}".getBytes(StandardCharsets.UTF_8);
    assertThat(Utf8.problem(text, 0)).isNull();
  }

  @Test
  void shouldNameTheFirstByteThatIsNotUtf8AndTheTextBeforeIt() {
    byte[] cut = {'a', 'b', (byte) 0xC3}; // the first byte of a two-byte character, then the end
    assertThat(Utf8.problem(cut, 0))
        .startsWith("the value is not valid UTF-8: byte 0xC3 at byte 2 (after \"ab\")");
    byte[] surrogate = {'x', (byte) 0xED, (byte) 0xA0, (byte) 0x80}; // an encoded lone surrogate
    assertThat(Utf8.problem(surrogate, 0))
        .startsWith("the value is not valid UTF-8: byte 0xED at byte 1");
    // Control characters before it are shown escaped, so the message stays on one line.
    byte[] control = {'a', '\n', 'b', (byte) 0xFF};
    assertThat(Utf8.problem(control, 0)).contains("(after \"a\\u000ab\")");
    // Counted from where the JSON starts.
    assertThat(Utf8.problem(new byte[] {0, 0, 0, 0, 1, 'a', (byte) 0xFF}, 5))
        .startsWith("the value is not valid UTF-8: byte 0xFF at byte 1 (after \"a\")");
  }
}
