package dev.llmstreams.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;

/**
 * Why the gateway gave up on a request.
 *
 * @param retryable whether the requester may send the request again later (with a new requestId)
 * @param attempts how many provider calls the gateway made before giving up
 */
public record LlmError(
    Code code,
    String message,
    @JsonSetter(nulls = Nulls.AS_EMPTY) boolean retryable, // absent means false
    @JsonProperty(required = true) int attempts) {

  public enum Code {
    @JsonProperty("rate_limited")
    RATE_LIMITED,
    @JsonProperty("timeout")
    TIMEOUT,
    @JsonProperty("provider_error")
    PROVIDER_ERROR,
    @JsonProperty("invalid_request")
    INVALID_REQUEST,
    @JsonProperty("invalid_response")
    INVALID_RESPONSE,
    @JsonProperty("context_length_exceeded")
    CONTEXT_LENGTH_EXCEEDED,
    @JsonProperty("unauthorized")
    UNAUTHORIZED,
    @JsonProperty("refused")
    REFUSED,
    @JsonProperty("circuit_open")
    CIRCUIT_OPEN,
    @JsonProperty("deadline_exceeded")
    DEADLINE_EXCEEDED
  }

  public LlmError {
    Require.present(code, "code");
    Require.text(message, "message");
    Require.atLeast(attempts, 0, "attempts");
  }
}
