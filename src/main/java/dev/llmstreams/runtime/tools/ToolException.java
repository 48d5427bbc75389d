package dev.llmstreams.runtime.tools;

/**
 * An expected failure of a tool call; its message becomes the result's {@code error}, for a person
 * or an LLM.
 */
public final class ToolException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ToolException(String message) {
    super(message, null, false, false);
  }

  public ToolException(String message, Throwable cause) {
    super(message, cause, false, false);
  }
}
