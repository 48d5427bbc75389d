package dev.llmstreams.llm;

import dev.llmstreams.events.LlmError;
import java.time.Duration;
import java.util.Optional;

/**
 * A provider call that did not produce a completion: the error code of the reply, whether the same
 * call may succeed if retried, and how long the provider asked us to wait (HTTP {@code
 * Retry-After}).
 */
public final class ProviderException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final LlmError.Code code;
  private final boolean retryable;
  private final Duration retryAfter;
  private final int httpStatus;

  public ProviderException(
      LlmError.Code code,
      String message,
      boolean retryable,
      Duration retryAfter,
      int httpStatus,
      Throwable cause) {
    super(message, cause);
    this.code = code;
    this.retryable = retryable;
    this.retryAfter = retryAfter;
    this.httpStatus = httpStatus;
  }

  public ProviderException(LlmError.Code code, String message, boolean retryable) {
    this(code, message, retryable, null, 0, null);
  }

  public LlmError.Code code() {
    return code;
  }

  public boolean retryable() {
    return retryable;
  }

  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }

  /**
   * The HTTP status, or 0 when the call failed before one arrived (timeout, connection refused).
   */
  public int httpStatus() {
    return httpStatus;
  }
}
