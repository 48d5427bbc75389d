package dev.llmstreams.topics;

/**
 * An input value its topic's deserializer refused, decoded by a processor ({@link KeyedInput})
 * rather than by the source. The dead letter reports it as a deserialization failure, with the
 * deserializer's own error as the reason.
 */
public final class UnreadableRecordException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UnreadableRecordException(RuntimeException cause) {
    super(cause.getMessage(), cause, false, false);
  }

  /** The deserializer's error. */
  public RuntimeException reason() {
    return (RuntimeException) getCause();
  }
}
