package dev.llmstreams.runtime.tools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.events.Json;
import dev.llmstreams.events.ToolCall;
import dev.llmstreams.events.ToolResult;
import org.junit.jupiter.api.Test;

class RecordedResultsTest {
  private static ToolResult ok(String callId, String value) {
    return new ToolResult(
        callId, "g", "calculator", true, Json.tree("{\"value\":\"" + value + "\"}"), null, 2, "w1");
  }

  private static ToolCall call(int step, String arguments) {
    return new ToolCall(
        ToolCall.callId("g", step, 0),
        "g",
        step,
        0,
        "calculator",
        Json.tree(arguments),
        1,
        1000,
        null);
  }

  @Test
  void shouldMatchArgumentsWhateverTheOrderOfKeysButNotOtherValues() {
    RecordedResults r = new RecordedResults();
    r.add(
        "g",
        "calculator",
        Json.tree("{\"a\":{\"y\":1,\"x\":[2,{\"q\":1,\"p\":2}]},\"b\":\"s\"}"),
        ok("g/1/0", "v"));
    assertThat(r.answer(call(5, "{\"b\":\"s\",\"a\":{\"x\":[2,{\"p\":2,\"q\":1}],\"y\":1}}")))
        .hasValueSatisfying(
            a -> {
              assertThat(a.callId()).isEqualTo("g/5/0");
              assertThat(a.worker()).isEqualTo("recorded:w1");
              assertThat(a.result().path("value").asText()).isEqualTo("v");
            });
    // Array order matters, and so do numbers as written.
    assertThat(r.answer(call(5, "{\"b\":\"s\",\"a\":{\"x\":[{\"p\":2,\"q\":1},2],\"y\":1}}")))
        .isEmpty();
    assertThat(r.answer(call(5, "{\"b\":\"s\",\"a\":{\"x\":[2,{\"p\":2,\"q\":1}],\"y\":1.0}}")))
        .isEmpty();
    // Another goal's call with the same arguments is not this goal's.
    ToolCall other =
        new ToolCall(
            "h/1/0", "h", 1, 0, "calculator", Json.tree("{\"b\":\"s\",\"a\":{}}"), 1, 1000, null);
    assertThat(r.answer(other)).isEmpty();
  }

  @Test
  void shouldKeepTheFirstSuccessfulResultOfACallMadeSeveralTimes() {
    RecordedResults r = new RecordedResults();
    var args = Json.tree("{\"expression\":\"1 + 1\"}");
    r.add(
        "g",
        "calculator",
        args,
        new ToolResult("g/1/0", "g", "calculator", false, null, "timed out", 9, "w1"));
    r.add("g", "calculator", args, ok("g/1/0", "2"));
    r.add("g", "calculator", args, ok("g/2/0", "two"));
    assertThat(r.size()).isEqualTo(1);
    assertThat(
            r.answer(call(3, "{\"expression\":\"1 + 1\"}"))
                .orElseThrow()
                .result()
                .path("value")
                .asText())
        .isEqualTo("2");
  }
}
