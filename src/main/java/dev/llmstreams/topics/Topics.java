package dev.llmstreams.topics;

import dev.llmstreams.events.Approval;
import dev.llmstreams.events.Classification;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.Document;
import dev.llmstreams.events.Goal;
import dev.llmstreams.events.GoalEvent;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.ShadowReply;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.events.ToolResult;

/**
 * Typed references to every catalog topic with a JSON value: code names topics only through these.
 */
public final class Topics {
  public static final TopicRef<Goal> GOALS = TopicRef.of(TopicRole.GOALS, Goal.class);
  public static final TopicRef<GoalResult> GOAL_RESULTS =
      TopicRef.of(TopicRole.GOAL_RESULTS, GoalResult.class);
  public static final TopicRef<GoalEvent> GOAL_EVENTS =
      TopicRef.of(TopicRole.GOAL_EVENTS, GoalEvent.class);
  public static final TopicRef<Approval> APPROVALS =
      TopicRef.of(TopicRole.APPROVALS, Approval.class);
  public static final TopicRef<dev.llmstreams.events.GoalCancellation> GOAL_CANCELLATIONS =
      TopicRef.of(TopicRole.GOAL_CANCELLATIONS, dev.llmstreams.events.GoalCancellation.class);
  public static final TopicRef<dev.llmstreams.events.HumanAnswer> HUMAN_ANSWERS =
      TopicRef.of(TopicRole.HUMAN_ANSWERS, dev.llmstreams.events.HumanAnswer.class);
  public static final TopicRef<ToolResult> TOOL_RESULTS =
      TopicRef.of(TopicRole.TOOL_RESULTS, ToolResult.class);
  public static final TopicRef<LlmRequest> LLM_REQUESTS =
      TopicRef.of(TopicRole.LLM_REQUESTS, LlmRequest.class);
  public static final TopicRef<LlmRequest> CONTROLLER_LLM_REQUESTS =
      TopicRef.of(TopicRole.CONTROLLER_LLM_REQUESTS, LlmRequest.class);
  public static final TopicRef<LlmReply> CONTROLLER_LLM_REPLIES =
      TopicRef.of(TopicRole.CONTROLLER_LLM_REPLIES, LlmReply.class);
  public static final TopicRef<LlmReply> SUMMARIZER_LLM_REPLIES =
      TopicRef.of(TopicRole.SUMMARIZER_LLM_REPLIES, LlmReply.class);
  public static final TopicRef<LlmReply> SPECIALIST_LLM_REPLIES =
      TopicRef.of(TopicRole.SPECIALIST_LLM_REPLIES, LlmReply.class);
  public static final TopicRef<ShadowReply> LLM_SHADOW_REPLIES =
      TopicRef.of(TopicRole.LLM_SHADOW_REPLIES, ShadowReply.class);
  public static final TopicRef<Document> DOCUMENTS =
      TopicRef.of(TopicRole.DOCUMENTS, Document.class);
  public static final TopicRef<Synthesis> SYNTHESES =
      TopicRef.of(TopicRole.SYNTHESES, Synthesis.class);
  public static final TopicRef<ClassificationRequest> CLASSIFICATION_REQUESTS =
      TopicRef.of(TopicRole.CLASSIFICATION_REQUESTS, ClassificationRequest.class);
  public static final TopicRef<Classification> CLASSIFICATIONS =
      TopicRef.of(TopicRole.CLASSIFICATIONS, Classification.class);
  public static final TopicRef<LabelEvent> LABELS = TopicRef.of(TopicRole.LABELS, LabelEvent.class);
  public static final TopicRef<dev.llmstreams.events.SpanRecord> SPANS =
      TopicRef.of(TopicRole.SPANS, dev.llmstreams.events.SpanRecord.class);
  public static final TopicRef<SpecialistModel> SPECIALIST_MODELS =
      TopicRef.of(TopicRole.SPECIALIST_MODELS, SpecialistModel.class);
  public static final TopicRef<dev.llmstreams.events.TenantSpend> TENANT_SPEND =
      TopicRef.of(TopicRole.TENANT_SPEND, dev.llmstreams.events.TenantSpend.class);
  public static final TopicRef<dev.llmstreams.events.TenantTotal> TENANT_TOTALS =
      TopicRef.of(TopicRole.TENANT_TOTALS, dev.llmstreams.events.TenantTotal.class);

  private Topics() {}
}
