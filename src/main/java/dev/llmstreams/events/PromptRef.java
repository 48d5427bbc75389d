package dev.llmstreams.events;

/**
 * Which prompt an LLM request was built from: its id and the version of its text (see {@code
 * docs/prompts.md}).
 *
 * @param id the prompt's id, dot-case, e.g. {@code controller.system}
 * @param version {@code sha256:} and the first 12 hex digits of the SHA-256 of the prompt file's
 *     bytes, e.g. {@code sha256:3f1c0a9b2d4e}
 */
public record PromptRef(String id, String version) {
  public PromptRef {
    Require.text(id, "id");
    Require.check(
        id.matches("[a-z0-9_-]+(\\.[a-z0-9_-]+)*"),
        "field \"id\" must be dot-case (controller.system) but was " + id);
    Require.text(version, "version");
    Require.check(
        version.matches("sha256:[0-9a-f]{12}"),
        "field \"version\" must be sha256: and 12 lower-case hex digits but was " + version);
  }

  @Override
  public String toString() {
    return id + "@" + version;
  }
}
