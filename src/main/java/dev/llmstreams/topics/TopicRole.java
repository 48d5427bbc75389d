package dev.llmstreams.topics;

/**
 * What a topic is for. Code names topics by role; only {@code topics/*.json} names them by name.
 */
public enum TopicRole {
  GOALS,
  GOAL_RESULTS,
  GOAL_EVENTS,
  APPROVALS,
  GOAL_CANCELLATIONS,
  TOOL_CALLS,
  TOOL_RESULTS,
  LLM_REQUESTS,
  CONTROLLER_LLM_REPLIES,
  SUMMARIZER_LLM_REPLIES,
  SPECIALIST_LLM_REPLIES,
  LLM_SHADOW_REPLIES,
  DOCUMENTS,
  SYNTHESES,
  CLASSIFICATION_REQUESTS,
  CLASSIFICATIONS,
  LABELS,
  SPECIALIST_MODELS,
  DEAD_LETTERS,
  SPANS
}
