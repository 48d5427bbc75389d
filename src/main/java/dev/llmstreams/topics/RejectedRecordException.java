package dev.llmstreams.topics;

/**
 * Thrown by a processor for an input it will not process (too large, empty, out of contract). The
 * processing exception handler sends the source record to dead-letters with this message as the
 * reason.
 */
public final class RejectedRecordException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public RejectedRecordException(String reason) {
    super(reason, null, false, false);
  }
}
