package dev.llmstreams.events;

import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One realistic, fully populated sample and one with only the required fields, per topic value
 * type.
 */
final class Samples {
  private Samples() {}

  record Sample(String name, Class<?> type, Object value) {
    @Override
    public String toString() {
      return name;
    }
  }

  static final Instant T0 = Instant.parse("2025-11-28T03:39:00Z");
  static final Instant T1 = Instant.parse("2025-11-28T03:39:02.125Z");
  static final String DIGEST = Synthesis.sourceDigest(List.of("doc-1", "doc-2", "doc-3"));
  static final byte[] ARTIFACT =
      "weights: 0.12 -0.3 1.7".getBytes(java.nio.charset.StandardCharsets.UTF_8);

  static final PromptRef CONTROLLER_PROMPT =
      new PromptRef("controller.system", "sha256:9c2e4f1a0b3d");

  static Stream<Sample> full() {
    return Stream.of(
        sample(
            "full Goal",
            new Goal(
                "g-42",
                "What is 17% of 2,340, and is it more than the average order value last week?",
                List.of("calculator", "http_get"),
                8,
                new Budget(20_000L, 0.25),
                T0.plusSeconds(120),
                Map.of("user", "ada", "channel", "cli"),
                T0,
                null,
                "acme")),
        sample(
            "full GoalResult",
            new GoalResult(
                "g-42",
                GoalStatus.SUCCEEDED,
                "17% of 2,340 is 397.8, above last week's average of 312.50.",
                4,
                new Usage(5_210, 388),
                0.0041,
                6_412,
                null,
                new Provenance(
                    "g-42/3/llm",
                    List.of("openai/gpt-4o-mini"),
                    "prompts-2025-11",
                    List.of(CONTROLLER_PROMPT)),
                T1)),
        sample(
            "child Goal",
            new Goal(
                "g-42/2/1",
                "Find last week's average order value",
                List.of("http_get"),
                8,
                new Budget(4_800L, 0.06),
                T0.plusSeconds(100),
                Map.of("user", "ada"),
                T0,
                new GoalParent("g-42", "g-42/2/1", 1),
                "acme")),
        sample(
            "GoalResult of a parent",
            new GoalResult(
                "g-42",
                GoalStatus.FAILED,
                null,
                3,
                new Usage(4_000, 300),
                0.003,
                9_100,
                "the LLM call of step 3 failed (provider_error after 3 attempts): HTTP 500",
                new Provenance("g-42/3/llm", List.of("openai/gpt-4o-mini"), null),
                T1,
                "g-7",
                List.of(
                    new ChildGoal(
                        "g-42/2/0", "g-42/2/0", GoalStatus.SUCCEEDED, new Usage(900, 80), 0.0008),
                    ChildGoal.running("g-42/2/1", "g-42/2/1")),
                new Usage(4_900, 380),
                0.0038,
                Map.of("user", "ada", "ticket", "T-981"))),
        sample(
            "full GoalEvent",
            new GoalEvent(
                "g-42",
                2,
                GoalEventType.TOOL_CALLED,
                "called calculator with 2340 * 0.17",
                Json.tree(
                    "{\"callId\":\"g-42/2/0\",\"arguments\":{\"expression\":\"2340 * 0.17\"}}"),
                "g-42/1/llm",
                T1)),
        sample(
            "full Approval",
            new Approval(
                "g-42",
                "g-42/3/0",
                Approval.Decision.REJECT,
                "the text names a customer",
                "ops@example.com",
                T1)),
        sample(
            "full TenantSpend",
            new TenantSpend(
                "acme",
                java.time.Instant.parse("2026-11-02T00:00:00Z"),
                1_530,
                0.00123,
                "g-42",
                "g-42/1/llm")),
        sample(
            "full TenantTotal",
            new TenantTotal(
                "acme",
                java.time.Instant.parse("2026-11-02T00:00:00Z"),
                48_200,
                0.0381,
                31,
                java.time.Instant.parse("2026-11-02T09:14:03Z"))),
        sample(
            "full GoalCancellation",
            new GoalCancellation(
                "g-42", "the customer withdrew the request", "ops@example.com", T1)),
        sample(
            "full HumanAnswer",
            new HumanAnswer("g-42", "g-42/2/0", "Ship it on Monday.", "ops@example.com", T1)),
        sample(
            "full ToolCall",
            new ToolCall(
                "g-42/2/0",
                "g-42",
                2,
                0,
                "calculator",
                Json.tree("{\"expression\":\"2340 * 0.17\"}"),
                2,
                5_000,
                T0.plusSeconds(120))),
        sample(
            "full ToolResult",
            new ToolResult(
                "g-42/2/0",
                "g-42",
                "calculator",
                true,
                Json.tree("{\"value\":397.8}"),
                null,
                3,
                "calculator-7f9c-1")),
        sample(
            "full LlmRequest",
            new LlmRequest(
                "g-42/2/llm",
                "controller.llm-replies",
                "controller.plan",
                "g-42",
                "g-42/1/0",
                "gpt-4o-mini",
                List.of(
                    ChatMessage.system("You plan and run tools to reach the user's goal."),
                    ChatMessage.user("What is 17% of 2,340?"),
                    new ChatMessage(
                        ChatMessage.Role.ASSISTANT,
                        null,
                        null,
                        List.of(
                            new ToolCallRequest(
                                "call_1",
                                "calculator",
                                Json.tree("{\"expression\":\"2340 * 0.17\"}")))),
                    new ChatMessage(
                        ChatMessage.Role.TOOL, "{\"value\":397.8}", "call_1", List.of())),
                List.of(
                    new ToolSpec(
                        "calculator",
                        "Evaluates an arithmetic expression.",
                        Json.tree(
                            "{\"type\":\"object\",\"required\":[\"expression\"],"
                                + "\"properties\":{\"expression\":{\"type\":\"string\"}}}"))),
                Json.tree(
                    "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"string\"}}}"),
                1_024,
                0.2,
                T0.plusSeconds(60),
                Map.of("tenant", "acme"),
                CONTROLLER_PROMPT)),
        sample(
            "full LlmReply with tool calls",
            new LlmReply(
                "g-42/2/llm",
                "g-42",
                "controller.plan",
                "I will compute it.",
                List.of(
                    new ToolCallRequest(
                        "call_2", "calculator", Json.tree("{\"expression\":\"397.8 > 312.5\"}"))),
                "tool_calls",
                new Usage(1_302, 41),
                0.00022,
                840,
                "openai",
                "gpt-4o-mini-2024-07-18",
                false,
                null,
                2,
                CONTROLLER_PROMPT)),
        sample(
            "LlmReply from the route's fallback",
            new LlmReply(
                "g-44/1/llm",
                "g-44",
                "controller.plan",
                "42",
                List.of(),
                "stop",
                new Usage(120, 3),
                0.0001,
                2_100,
                "anthropic",
                "claude-3-5-haiku",
                false,
                null,
                1,
                CONTROLLER_PROMPT,
                new Fallback(
                    "openai",
                    LlmError.Code.CIRCUIT_OPEN,
                    "the circuit for openai is open after repeated failures"))),
        sample(
            "full LlmReply with error",
            new LlmReply(
                "g-43/0/llm",
                "g-43",
                "controller.plan",
                null,
                List.of(),
                null,
                Usage.ZERO,
                0.0,
                30_000,
                "openai",
                "gpt-4o-mini",
                false,
                new LlmError(
                    LlmError.Code.RATE_LIMITED,
                    "429 Too Many Requests (Retry-After 20s)",
                    true,
                    5))),
        sample(
            "full ShadowReply that disagrees",
            new ShadowReply(
                "g-42/2/llm",
                "g-42",
                "controller.plan",
                "anthropic",
                "claude-3-5-haiku-20241022",
                null,
                List.of(
                    new ToolCallRequest(
                        "toolu_01", "calculator", Json.tree("{\"expression\":\"397.8-312.5\"}"))),
                "tool_calls",
                new Usage(1_410, 52),
                0.00139,
                1_210,
                null,
                1,
                ShadowReply.Agreement.DISAGREE,
                true,
                false,
                "openai",
                "gpt-4o-mini-2024-07-18",
                new Usage(1_302, 41),
                0.00022,
                840,
                null,
                CONTROLLER_PROMPT)),
        sample(
            "full ShadowReply whose candidate failed",
            new ShadowReply(
                "g-43/0/llm",
                "g-43",
                "controller.plan",
                "openai",
                "gpt-4.1-mini",
                null,
                List.of(),
                null,
                Usage.ZERO,
                0.0,
                30_000,
                new LlmError(LlmError.Code.CIRCUIT_OPEN, "the circuit is open", false, 0),
                null,
                ShadowReply.Agreement.BOTH_FAILED,
                null,
                null,
                "openai",
                "gpt-4o-mini",
                Usage.ZERO,
                0.0,
                30_000,
                new LlmError(LlmError.Code.TIMEOUT, "no answer in 30s", true, 3),
                null)),
        sample(
            "full Document",
            new Document(
                "doc-1",
                "Q3 incident review: the checkout service lost 0.4% of orders during the failover...",
                T0,
                Map.of("source", "confluence", "author", "sre-team"))),
        sample(
            "full Synthesis",
            new Synthesis(
                "acme",
                new Window(T0, T0.plusSeconds(86_400)),
                "Three incidents this week, all in checkout...",
                2,
                3,
                7,
                List.of("doc-1", "doc-2", "doc-3"),
                DIGEST,
                9_876,
                "ollama/llama3.1:8b",
                T1,
                List.of(
                    new PromptRef("summarizer.chunk", "sha256:0a1b2c3d4e5f"),
                    new PromptRef("summarizer.merge", "sha256:5f4e3d2c1b0a")),
                List.of("ollama/llama3.1:8b", "openai/gpt-4o-mini"))),
        sample(
            "full ClassificationRequest",
            new ClassificationRequest(
                "evt-981",
                "My card was charged twice for the same order",
                Json.tree("{\"customer\":\"c-17\",\"channel\":\"email\"}"))),
        sample(
            "full Classification",
            new Classification(
                "evt-981",
                "billing",
                0.93,
                List.of(new ScoredLabel("billing", 0.93), new ScoredLabel("orders", 0.05)),
                "intent-2025-11-28T03-00-00Z",
                Classification.Source.LLM,
                912_000,
                "confidence 0.41 < 0.70",
                new Usage(220, 3),
                new PromptRef("specialist.escalate", "sha256:77aa00bb11cc"),
                "openai/gpt-4o-mini",
                Json.tree("{\"orderId\":\"o-17\",\"amountCents\":1999,\"tags\":[\"vip\"]}"))),
        sample(
            "full LabelEvent",
            new LabelEvent(
                "evt-981",
                "My card was charged twice for the same order",
                "billing",
                LabelEvent.Source.HUMAN,
                T1)),
        sample(
            "full SpecialistModel",
            new SpecialistModel(
                "intent",
                "intent-2025-11-28T03-00-00Z",
                T0,
                List.of("billing", "orders", "shipping"),
                DIGEST,
                Json.tree("{\"accuracy\":0.912,\"macroF1\":0.887,\"ece\":0.031}"),
                Json.tree("{\"ngrams\":[1,2],\"c\":4.0}"),
                "logreg-tfidf-v1",
                Base64.getEncoder().encodeToString(ARTIFACT),
                DIGEST,
                "sha256:" + DIGEST,
                Base64.getEncoder().encodeToString(new byte[64]),
                "ed25519:0123456789abcdef",
                new ModelPromotion(
                    ModelPromotion.Decision.PROMOTED,
                    "at least as good as intent-2025-11-21T03-00-00Z",
                    T1,
                    400,
                    new ModelPromotion.Scores(0.93, 0.975, 0.86, 0.62),
                    new ModelPromotion.Scores(0.91, null, 0.0, 0.99),
                    "intent-2025-11-21T03-00-00Z",
                    "trainer"))),
        sample(
            "full SpanRecord",
            new SpanRecord(
                "4bf92f3577b34da6a3ce929d0e0e4736",
                "00f067aa0ba902b7",
                "b7ad6b7169203331",
                "vendor=abc",
                "merge_summaries",
                "INTERNAL",
                1_764_000_000_000_000_000L,
                1_764_000_000_250_000_000L,
                "ERROR",
                "provider timed out",
                java.util.Map.of(
                    "gen_ai.operation.name",
                    "chat",
                    "gen_ai.usage.input_tokens",
                    120L,
                    "llmstreams.llm.cost_usd",
                    0.0012,
                    "llmstreams.llm.cache_hit",
                    false,
                    "gen_ai.response.finish_reasons",
                    List.of("stop")),
                List.of(
                    new SpanRecord.Link(
                        "0af7651916cd43dd8448eb211c80319c",
                        "b9c7c989f97918e1",
                        java.util.Map.of())),
                "llm-streams-summarizer",
                "host-1/4242")));
  }

  static Stream<Sample> minimal() {
    return Stream.of(
        sample("minimal Goal", Goal.of("g-1", "Say hello")),
        sample(
            "minimal GoalResult",
            new GoalResult(
                "g-1",
                GoalStatus.TIMED_OUT,
                null,
                0,
                Usage.ZERO,
                0.0,
                0,
                "deadline passed after 0 steps",
                new Provenance("g-1", null, null),
                null)),
        sample(
            "minimal GoalEvent",
            new GoalEvent("g-1", 0, GoalEventType.GOAL_RECEIVED, "goal received", null, null, T0)),
        sample(
            "minimal Approval",
            new Approval("g-1", "g-1/0/0", Approval.Decision.APPROVE, null, "ada", null)),
        sample("minimal HumanAnswer", new HumanAnswer("g-1", "g-1/1/0", "yes", "ada", null)),
        sample("minimal GoalCancellation", new GoalCancellation("g-1", null, "ada", null)),
        sample(
            "minimal TenantSpend",
            new TenantSpend("default", java.time.Instant.EPOCH, 0, 0.0, "g-1", null)),
        sample(
            "minimal TenantTotal",
            new TenantTotal("default", java.time.Instant.EPOCH, 0, 0.0, 0, null)),
        sample(
            "minimal ToolCall",
            new ToolCall("g-1/0/0", "g-1", 0, 0, "publish", Json.tree("{}"), 1, 1_000, null)),
        sample(
            "minimal ToolResult",
            new ToolResult(
                "g-1/0/0", "g-1", "publish", false, null, "not approved", 0, "publish-1")),
        sample(
            "minimal LlmRequest",
            new LlmRequest(
                "r-1",
                "summarizer.llm-replies",
                "summarizer.chunk",
                "acme",
                null,
                null,
                List.of(ChatMessage.user("Summarize: ...")),
                null,
                null,
                null,
                null,
                null,
                null)),
        sample(
            "minimal LlmReply",
            new LlmReply(
                "r-1",
                "acme",
                "summarizer.chunk",
                "",
                null,
                null,
                Usage.ZERO,
                0.0,
                0,
                null,
                null,
                false,
                null)),
        sample(
            "minimal ShadowReply",
            new ShadowReply(
                "r-1",
                "acme",
                "summarizer.chunk",
                "offline",
                null,
                "",
                null,
                null,
                Usage.ZERO,
                0.0,
                0,
                null,
                null,
                ShadowReply.Agreement.AGREE,
                true,
                true,
                null,
                null,
                Usage.ZERO,
                0.0,
                0,
                null,
                null)),
        sample("minimal Document", new Document("doc-1", "", T0, null)),
        sample(
            "minimal Synthesis",
            new Synthesis(
                "acme", null, "", 0, 0, 0, null, Synthesis.sourceDigest(List.of()), 0, null, T0)),
        sample("minimal ClassificationRequest", new ClassificationRequest("evt-1", "hello", null)),
        sample(
            "minimal Classification",
            new Classification(
                "evt-1",
                "greeting",
                1.0,
                null,
                "intent-1",
                Classification.Source.SPECIALIST,
                0,
                null,
                null)),
        sample(
            "minimal LabelEvent",
            new LabelEvent(null, "hello", "greeting", LabelEvent.Source.LLM, T0)),
        sample(
            "minimal SpecialistModel",
            new SpecialistModel(
                "intent",
                "1",
                T0,
                List.of("greeting"),
                DIGEST,
                null,
                null,
                "logreg-tfidf-v1",
                "AA==",
                DIGEST)),
        sample(
            "minimal SpanRecord",
            new SpanRecord(
                "4bf92f3577b34da6a3ce929d0e0e4736",
                "00f067aa0ba902b7",
                null,
                null,
                "chat",
                "CLIENT",
                5,
                5,
                "UNSET",
                null,
                null,
                null,
                null,
                null)));
  }

  static Stream<Sample> all() {
    return Stream.concat(full(), minimal());
  }

  private static Sample sample(String name, Object value) {
    return new Sample(name, value.getClass(), value);
  }
}
