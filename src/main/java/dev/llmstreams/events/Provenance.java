package dev.llmstreams.events;

import java.util.List;

/**
 * Where an output came from.
 *
 * @param causationId the id of the input that caused this output (an LLM requestId, a callId, an
 *     eventId)
 * @param models the LLM or specialist models that contributed, as {@code provider/model}
 * @param modelVersion the version of the specialist model or prompt set, when there is one
 * @param prompts the prompts (id and version) of the LLM answers that contributed; empty when none
 *     did, and in outputs written before it existed
 */
public record Provenance(
    String causationId, List<String> models, String modelVersion, List<PromptRef> prompts) {
  public Provenance {
    Require.text(causationId, "causationId");
    models = Require.list(models, "models");
    Require.optionalText(modelVersion, "modelVersion");
    prompts = Require.list(prompts, "prompts");
  }

  /** Provenance naming no prompt. */
  public Provenance(String causationId, List<String> models, String modelVersion) {
    this(causationId, models, modelVersion, null);
  }
}
