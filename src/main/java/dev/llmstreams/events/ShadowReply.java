package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Locale;

/**
 * A shadow candidate's answer to a sampled {@link LlmRequest}, compared with the primary's (topic
 * role LLM_SHADOW_REPLIES, with the request's key). Nobody acts on it: the primary's reply is the
 * one the requester gets, and the candidate's tool calls are recorded here, never executed.
 *
 * <p>The first fields describe the candidate's answer as an {@link LlmReply} would (content and/or
 * toolCalls, or an error); the {@code primary*} fields describe the primary's reply to the same
 * request.
 *
 * @param provider the candidate's provider (the shadow route)
 * @param model the model that answered, as the candidate's provider named it; optional
 * @param costUsd the candidate's cost, from the shadow route's prices
 * @param latencyMs the candidate's call, retries included
 * @param agreement the verdict of the comparison
 * @param sameContent whether both answered the same content (equal after collapsing whitespace, or
 *     equal as JSON); absent when either failed
 * @param sameToolCalls whether both asked for the same tool calls (same names and arguments, in any
 *     order; the providers' call ids are not compared); absent when either failed
 * @param primaryError the primary's error, when it gave up; optional
 * @param prompt the request's prompt, as the primary's reply echoes it; optional (a request built
 *     from no prompt of the app's)
 */
public record ShadowReply(
    String requestId,
    String correlationId,
    String purpose,
    String provider,
    String model,
    String content,
    List<ToolCallRequest> toolCalls,
    String finishReason,
    Usage usage,
    @JsonProperty(required = true) double costUsd,
    @JsonProperty(required = true) long latencyMs,
    LlmError error,
    Integer attempts,
    Agreement agreement,
    Boolean sameContent,
    Boolean sameToolCalls,
    String primaryProvider,
    String primaryModel,
    Usage primaryUsage,
    @JsonProperty(required = true) double primaryCostUsd,
    @JsonProperty(required = true) long primaryLatencyMs,
    LlmError primaryError,
    PromptRef prompt) {

  /** How the candidate's answer compares with the primary's. */
  public enum Agreement {
    /** Both answered, with the same content and the same tool calls. */
    @JsonProperty("agree")
    AGREE,
    /** Both answered, differently. */
    @JsonProperty("disagree")
    DISAGREE,
    /** The candidate gave up; the primary answered. */
    @JsonProperty("shadow_failed")
    SHADOW_FAILED,
    /** The primary gave up; the candidate answered. */
    @JsonProperty("primary_failed")
    PRIMARY_FAILED,
    /** Both gave up. */
    @JsonProperty("both_failed")
    BOTH_FAILED;

    /** The verdict for these outcomes: {@code same} is read only when both answered. */
    public static Agreement of(boolean primaryFailed, boolean shadowFailed, boolean same) {
      if (primaryFailed) {
        return shadowFailed ? BOTH_FAILED : PRIMARY_FAILED;
      }
      if (shadowFailed) {
        return SHADOW_FAILED;
      }
      return same ? AGREE : DISAGREE;
    }
  }

  public ShadowReply {
    Require.text(requestId, "requestId");
    Require.text(correlationId, "correlationId");
    Require.text(purpose, "purpose");
    Require.text(provider, "provider");
    Require.optionalText(model, "model");
    toolCalls = Require.list(toolCalls, "toolCalls");
    Require.optionalText(finishReason, "finishReason");
    Require.present(usage, "usage");
    Require.nonNegative(costUsd, "costUsd");
    Require.atLeast(latencyMs, 0, "latencyMs");
    Require.check(attempts == null || attempts >= 1, "attempts must be at least 1");
    Require.answerOrError(content, toolCalls, error);
    Require.present(agreement, "agreement");
    Require.optionalText(primaryProvider, "primaryProvider");
    Require.optionalText(primaryModel, "primaryModel");
    Require.present(primaryUsage, "primaryUsage");
    Require.nonNegative(primaryCostUsd, "primaryCostUsd");
    Require.atLeast(primaryLatencyMs, 0, "primaryLatencyMs");
    Require.check(
        agreement
            == Agreement.of(primaryError != null, error != null, agreement == Agreement.AGREE),
        "field \"agreement\" "
            + agreement.name().toLowerCase(Locale.ROOT)
            + " does not match the errors of the two answers");
    boolean compared = error == null && primaryError == null;
    Require.check(
        compared == (sameContent != null && sameToolCalls != null),
        "fields \"sameContent\" and \"sameToolCalls\" are present exactly when both answered");
    Require.check(
        !compared || (agreement == Agreement.AGREE) == (sameContent && sameToolCalls),
        "field \"agreement\" must be agree exactly when sameContent and sameToolCalls are true");
  }
}
