package dev.llmstreams.specialist;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.ScoredLabel;
import dev.llmstreams.runtime.tools.Tool;
import dev.llmstreams.runtime.tools.ToolException;
import dev.llmstreams.specialist.model.Prediction;
import dev.llmstreams.specialist.model.TextClassifier;
import java.time.Duration;

/**
 * The {@code classify} tool: a goal's LLM asks the specialist's model in service for a text's
 * label. It runs in the specialist pattern, beside the model (the tool workers' machinery:
 * schema-checked arguments, idempotent on callId, the result in the same transaction as the call's
 * offset). It does not escalate: the caller is already an LLM.
 */
final class ClassifyTool implements Tool {
  static final String NAME = "classify";

  private final CurrentModel current;

  ClassifyTool(CurrentModel current) {
    this.current = current;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Outcome execute(JsonNode arguments, Duration timeLimit) throws ToolException {
    TextClassifier model = current.get();
    if (model == null) {
      throw new ToolException(
          "no specialist model '"
              + current.name()
              + "' is in service yet (publish one with"
              + " bin/llm-streams train ... --publish)");
    }
    Prediction p = model.predict(arguments.path("text").asText());
    ObjectNode result = JsonNodeFactory.instance.objectNode();
    result.put("label", p.label());
    result.put("confidence", p.confidence());
    ArrayNode top = result.putArray("top");
    for (ScoredLabel s : p.top()) {
      top.addObject().put("label", s.label()).put("confidence", s.confidence());
    }
    result.put("modelVersion", model.version());
    result.put("source", "specialist");
    return Outcome.of(result);
  }
}
