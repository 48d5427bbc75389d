package dev.llmstreams.events;

/** Limits of one goal; either may be absent (no limit of that kind). */
public record Budget(Long maxTokens, Double maxCostUsd) {
  public Budget {
    Require.atLeast(maxTokens, 1, "maxTokens");
    Require.nonNegative(maxCostUsd, "maxCostUsd");
  }
}
