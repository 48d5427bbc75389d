package dev.llmstreams.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmError;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.PromptRef;
import dev.llmstreams.events.ShadowReply;
import dev.llmstreams.events.ShadowReply.Agreement;
import dev.llmstreams.events.ToolCallRequest;
import dev.llmstreams.events.Usage;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a shadow candidate's answer is set beside the primary's. */
class ShadowComparisonTest {
  private static final PromptRef PROMPT = new PromptRef("controller.system", "sha256:9c2e4f1a0b3d");

  private static LlmReply answer(
      String provider, String content, List<ToolCallRequest> calls, double cost, long latency) {
    return new LlmReply(
        "g-1/0/llm",
        "g-1",
        "controller.plan",
        content,
        calls,
        calls.isEmpty() ? "stop" : "tool_calls",
        new Usage(100, 20),
        cost,
        latency,
        provider,
        provider + "-model",
        false,
        null,
        1,
        PROMPT);
  }

  private static LlmReply failed(String provider, LlmError.Code code) {
    return new LlmReply(
        "g-1/0/llm",
        "g-1",
        "controller.plan",
        null,
        null,
        null,
        Usage.ZERO,
        0.0,
        5_000,
        provider,
        provider + "-model",
        false,
        new LlmError(code, "gave up", false, 3));
  }

  private static ToolCallRequest call(String id, String name, String args) {
    return new ToolCallRequest(id, name, Json.tree(args));
  }

  @Test
  void shouldCarryTheCandidatesAnswerWithThePrimarysIdsCostAndLatency() {
    LlmReply primary = answer("openai", "Paris.", List.of(), 0.002, 800);
    LlmReply shadow = answer("anthropic", "  Paris. \n", List.of(), 0.005, 1_300);
    ShadowReply r = ShadowComparison.compare(primary, shadow);
    assertThat(r.agreement()).isEqualTo(Agreement.AGREE);
    assertThat(r.sameContent()).isTrue();
    assertThat(r.sameToolCalls()).isTrue();
    assertThat(r.requestId()).isEqualTo("g-1/0/llm");
    assertThat(r.correlationId()).isEqualTo("g-1");
    assertThat(r.purpose()).isEqualTo("controller.plan");
    assertThat(r.provider()).isEqualTo("anthropic");
    assertThat(r.model()).isEqualTo("anthropic-model");
    assertThat(r.content()).isEqualTo("  Paris. \n");
    assertThat(r.costUsd()).isEqualTo(0.005);
    assertThat(r.latencyMs()).isEqualTo(1_300);
    assertThat(r.primaryProvider()).isEqualTo("openai");
    assertThat(r.primaryModel()).isEqualTo("openai-model");
    assertThat(r.primaryCostUsd()).isEqualTo(0.002);
    assertThat(r.primaryLatencyMs()).isEqualTo(800);
    assertThat(r.primaryUsage()).isEqualTo(new Usage(100, 20));
    assertThat(r.prompt()).isEqualTo(PROMPT);
  }

  @Test
  void shouldCompareContentAsTextWithWhitespaceCollapsedOrAsJson() {
    assertThat(ShadowComparison.sameContent("a  b\nc", " a b c ")).isTrue();
    assertThat(ShadowComparison.sameContent("Paris", "paris")).isFalse();
    assertThat(ShadowComparison.sameContent("{\"a\":1,\"b\":[1,2]}", "{ \"b\": [1, 2], \"a\": 1 }"))
        .isTrue();
    assertThat(ShadowComparison.sameContent("{\"a\":1}", "{\"a\":2}")).isFalse();
    assertThat(ShadowComparison.sameContent("[1,2]", "[2,1]")).isFalse();
    assertThat(ShadowComparison.sameContent("{not json", "{not  json")).isTrue();
    assertThat(ShadowComparison.sameContent(null, null)).isTrue();
    assertThat(ShadowComparison.sameContent(null, "")).isFalse();
  }

  @Test
  void shouldCompareToolCallsByNameAndArgumentsInAnyOrderIgnoringIds() {
    List<ToolCallRequest> primary =
        List.of(
            call("call_1", "calculator", "{\"expression\":\"6*7\"}"),
            call("call_2", "http_get", "{\"url\":\"https://example.com\",\"max\":3}"));
    List<ToolCallRequest> reordered =
        List.of(
            call("toolu_b", "http_get", "{\"max\":3,\"url\":\"https://example.com\"}"),
            call("toolu_a", "calculator", "{\"expression\":\"6*7\"}"));
    assertThat(ShadowComparison.sameToolCalls(primary, reordered)).isTrue();
    assertThat(
            ShadowComparison.sameToolCalls(
                primary,
                List.of(
                    call("a", "calculator", "{\"expression\":\"6*8\"}"),
                    call("b", "http_get", "{\"url\":\"https://example.com\",\"max\":3}"))))
        .isFalse();
    assertThat(ShadowComparison.sameToolCalls(primary, primary.subList(0, 1))).isFalse();
    // The same call twice is not matched by one call and another.
    ToolCallRequest six = call("x", "calculator", "{\"expression\":\"6\"}");
    ToolCallRequest seven = call("y", "calculator", "{\"expression\":\"7\"}");
    assertThat(ShadowComparison.sameToolCalls(List.of(six, six), List.of(six, seven))).isFalse();

    LlmReply p = answer("openai", null, primary, 0, 1);
    LlmReply s = answer("anthropic", "I will call:", reordered, 0, 1);
    ShadowReply r = ShadowComparison.compare(p, s);
    assertThat(r.sameToolCalls()).isTrue();
    assertThat(r.sameContent()).isFalse();
    assertThat(r.agreement()).isEqualTo(Agreement.DISAGREE);
    assertThat(r.toolCalls()).isEqualTo(reordered); // recorded as the candidate asked
  }

  @Test
  void shouldSayWhoGaveUpWithoutComparingAnswers() {
    LlmReply ok = answer("openai", "42", List.of(), 0.001, 10);
    ShadowReply shadowFailed =
        ShadowComparison.compare(ok, failed("anthropic", LlmError.Code.CIRCUIT_OPEN));
    assertThat(shadowFailed.agreement()).isEqualTo(Agreement.SHADOW_FAILED);
    assertThat(shadowFailed.sameContent()).isNull();
    assertThat(shadowFailed.sameToolCalls()).isNull();
    assertThat(shadowFailed.error().code()).isEqualTo(LlmError.Code.CIRCUIT_OPEN);
    assertThat(shadowFailed.primaryError()).isNull();

    ShadowReply primaryFailed =
        ShadowComparison.compare(failed("openai", LlmError.Code.TIMEOUT), ok);
    assertThat(primaryFailed.agreement()).isEqualTo(Agreement.PRIMARY_FAILED);
    assertThat(primaryFailed.primaryError().code()).isEqualTo(LlmError.Code.TIMEOUT);

    assertThat(
            ShadowComparison.compare(
                    failed("openai", LlmError.Code.TIMEOUT),
                    failed("anthropic", LlmError.Code.TIMEOUT))
                .agreement())
        .isEqualTo(Agreement.BOTH_FAILED);
  }
}
