package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Tokens sent to and received from LLMs. */
public record Usage(
    @JsonProperty(required = true) long inputTokens,
    @JsonProperty(required = true) long outputTokens) {
  public static final Usage ZERO = new Usage(0, 0);

  public Usage {
    Require.atLeast(inputTokens, 0, "inputTokens");
    Require.atLeast(outputTokens, 0, "outputTokens");
  }

  public long totalTokens() {
    return inputTokens + outputTokens;
  }

  public Usage plus(Usage other) {
    return new Usage(inputTokens + other.inputTokens, outputTokens + other.outputTokens);
  }
}
