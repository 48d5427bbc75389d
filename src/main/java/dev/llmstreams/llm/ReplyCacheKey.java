package dev.llmstreams.llm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The key of a reply in the content-addressed reply cache ({@code llm.reply.cache.topic}): the
 * SHA-256 of everything that decides the answer: the provider and model the request goes to, the
 * prompt (id and version), the messages, the tools, the response format, the temperature and the
 * output limit. Not the requestId, the correlation or the deadline: the same question asked by
 * another run, goal or window meets the same answer.
 */
final class ReplyCacheKey {
  private ReplyCacheKey() {}

  static String of(String provider, String model, LlmRequest request) {
    ObjectNode asked = JsonNodeFactory.instance.objectNode();
    asked.put("provider", provider);
    asked.put("model", model);
    asked.set("prompt", Json.toTree(request.prompt()));
    asked.set("messages", Json.toTree(request.messages()));
    asked.set("tools", Json.toTree(request.tools()));
    asked.set("responseFormat", request.responseFormat());
    if (request.temperature() != null) {
      asked.put("temperature", request.temperature());
    }
    if (request.maxTokens() != null) {
      asked.put("maxTokens", request.maxTokens());
    }
    try {
      byte[] bytes = Json.writer().writeValueAsString(asked).getBytes(StandardCharsets.UTF_8);
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (JsonProcessingException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot digest a request: " + e.getMessage(), e);
    }
  }
}
