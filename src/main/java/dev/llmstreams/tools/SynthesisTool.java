package dev.llmstreams.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.Json;
import dev.llmstreams.runtime.tools.Tool;
import dev.llmstreams.runtime.tools.ToolException;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * The {@code synthesis} tool: the current synthesis of a key, from {@code GET
 * <base>/syntheses/<key>} of an instance running the summarizer. The base is {@code
 * tools.synthesis.url}, or this instance's own HTTP server, which forwards the query to the
 * instance that owns the key.
 */
public final class SynthesisTool implements Tool {
  private final Supplier<String> baseUrl;
  private final int maxBytes;
  private final Duration timeout;
  private final CappedGet http;

  /**
   * @param baseUrl the base URL at call time (this instance's server is known only once it
   *     listens); null: not yet
   */
  public SynthesisTool(Supplier<String> baseUrl, int maxBytes, Duration timeout) {
    this.baseUrl = baseUrl;
    this.maxBytes = maxBytes;
    this.timeout = timeout;
    this.http = new CappedGet(timeout);
  }

  @Override
  public String name() {
    return "synthesis";
  }

  @Override
  public Outcome execute(JsonNode arguments, Duration timeLimit) throws InterruptedException {
    String key = arguments.path("key").asText();
    String base = baseUrl.get();
    if (base == null || base.isBlank()) {
      throw new ToolException(
          "no synthesis service yet: this instance's HTTP server is not up and "
              + AppConfig.TOOLS_SYNTHESIS_URL
              + " is empty");
    }
    URI uri;
    try {
      // one path segment: a "+" in a key stays a "+", a "/" stays in the key
      uri =
          URI.create(
              base.replaceAll("/+$", "")
                  + "/syntheses/"
                  + dev.llmstreams.observability.HttpApi.pathSegment(key));
    } catch (IllegalArgumentException e) {
      throw new ToolException(AppConfig.TOOLS_SYNTHESIS_URL + " '" + base + "' is not a URL");
    }
    Duration limit = timeLimit.compareTo(timeout) < 0 ? timeLimit : timeout;
    CappedGet.Response r = http.get(uri, limit, maxBytes, "application/json");
    boolean json = r.contentType() != null && r.contentType().startsWith("application/json");
    if (r.status() == 404 && json) {
      throw new ToolException("no synthesis for key " + key + " yet");
    }
    if (r.status() == 404) {
      throw new ToolException(
          "no /syntheses route at "
              + base
              + ": the summarizer pattern does not run there (set "
              + AppConfig.TOOLS_SYNTHESIS_URL
              + " to an instance that runs it)");
    }
    if (r.status() != 200) {
      String text = r.text();
      throw new ToolException(
          "synthesis service answered "
              + r.status()
              + ": "
              + (text.length() > 300 ? text.substring(0, 300) + "..." : text));
    }
    if (r.truncated()) {
      throw new ToolException(
          "the synthesis of "
              + key
              + " is larger than "
              + AppConfig.TOOLS_HTTP_MAX_BYTES
              + " ("
              + maxBytes
              + " bytes)");
    }
    try {
      return Outcome.of(Json.reader().readTree(r.body()));
    } catch (IOException e) {
      throw new ToolException("the synthesis service answered with malformed JSON");
    }
  }
}
