package dev.llmstreams.events;

/**
 * Why a reply came from a later provider of its purpose's route ({@code llm.route.<purpose>}, a
 * list): the provider before it failed.
 *
 * @param from the provider that failed
 * @param code how it failed ({@link LlmError#code()}, e.g. circuit_open, timeout)
 * @param message what it said
 */
public record Fallback(String from, LlmError.Code code, String message) {
  public Fallback {
    Require.text(from, "from");
    Require.present(code, "code");
    Require.text(message, "message");
  }
}
