package dev.llmstreams.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.tools.Tool;
import dev.llmstreams.runtime.tools.ToolException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The {@code http_get} tool: one GET of an http or https URL whose host is on {@code
 * tools.http.allowed.hosts}. Redirects are followed by hand, at most {@link #MAX_REDIRECTS}, each
 * hop checked against the allowlist again, so an allowed host cannot bounce the worker to one that
 * is not. The body is read up to {@code tools.http.max.bytes}.
 */
public final class HttpGetTool implements Tool {
  static final int MAX_REDIRECTS = 5;
  private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);

  private final List<String> allowedHosts;
  private final int maxBytes;
  private final Duration timeout;
  private final CappedGet http;

  public HttpGetTool(List<String> allowedHosts, int maxBytes, Duration timeout) {
    this.allowedHosts =
        allowedHosts.stream()
            .map(h -> h.trim().toLowerCase(Locale.ROOT))
            .filter(h -> !h.isEmpty())
            .toList();
    this.maxBytes = maxBytes;
    this.timeout = timeout;
    this.http = new CappedGet(timeout);
  }

  public static HttpGetTool from(AppConfig config) {
    return new HttpGetTool(
        config.getList(AppConfig.TOOLS_HTTP_ALLOWED_HOSTS),
        config.getInt(AppConfig.TOOLS_HTTP_MAX_BYTES),
        Duration.ofMillis(config.getLong(AppConfig.TOOLS_HTTP_TIMEOUT_MS)));
  }

  @Override
  public String name() {
    return "http_get";
  }

  @Override
  public Outcome execute(JsonNode arguments, Duration timeLimit) throws InterruptedException {
    URI uri = checked(arguments.path("url").asText());
    // One limit for the whole call, redirects included: the tighter of the setting and the call's
    // own timeoutMs.
    long deadline = System.nanoTime() + Math.min(timeout.toNanos(), timeLimit.toNanos());
    CappedGet.Response r = http.get(uri, remaining(deadline, uri), maxBytes, "*/*");
    for (int hops = 0; REDIRECTS.contains(r.status()) && r.location().isPresent(); hops++) {
      if (hops == MAX_REDIRECTS) {
        throw new ToolException(
            "GET "
                + arguments.path("url").asText()
                + ": more than "
                + MAX_REDIRECTS
                + " redirects");
      }
      URI next;
      try {
        next = r.uri().resolve(new URI(r.location().get().trim()));
      } catch (URISyntaxException | IllegalArgumentException e) {
        throw new ToolException("GET " + r.uri() + " redirects to a malformed location");
      }
      next = checked(next.toString());
      r = http.get(next, remaining(deadline, next), maxBytes, "*/*");
    }
    ObjectNode result = JsonNodeFactory.instance.objectNode();
    result.put("url", r.uri().toString());
    result.put("status", r.status());
    result.put("contentType", r.contentType());
    result.put("body", r.text());
    result.put("truncated", r.truncated());
    return Outcome.of(result);
  }

  private Duration remaining(long deadlineNanos, URI uri) {
    long left = deadlineNanos - System.nanoTime();
    if (left <= 0) {
      throw new ToolException("GET " + uri + ": the time limit passed while following redirects");
    }
    return Duration.ofNanos(left);
  }

  /**
   * The URL, if it is http(s) and its host is allowed; else a {@link ToolException} naming host and
   * setting.
   */
  URI checked(String url) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new ToolException("malformed URL: " + e.getReason());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new ToolException("only http and https URLs can be fetched, not '" + scheme + "'");
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw new ToolException("the URL " + url + " names no host");
    }
    host = host.toLowerCase(Locale.ROOT);
    if (allowedHosts.isEmpty()) {
      throw new ToolException(
          "host "
              + host
              + " is not allowed: "
              + AppConfig.TOOLS_HTTP_ALLOWED_HOSTS
              + " is empty, so http_get may fetch from no host");
    }
    if (!allowed(host)) {
      throw new ToolException(
          "host " + host + " is not in " + AppConfig.TOOLS_HTTP_ALLOWED_HOSTS + " " + allowedHosts);
    }
    return uri;
  }

  /**
   * An exact name, or {@code *.example.com} for any name below example.com (not example.com
   * itself).
   */
  private boolean allowed(String host) {
    String h = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    for (String a : allowedHosts) {
      if (a.startsWith("*.")
          ? h.endsWith(a.substring(1)) && h.length() > a.length() - 1
          : h.equals(a)) {
        return true;
      }
    }
    return false;
  }
}
