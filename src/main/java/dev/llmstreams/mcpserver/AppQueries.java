package dev.llmstreams.mcpserver;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * GET requests to a running app's HTTP server ({@code /goals/{id}}, {@code /syntheses/{key}}),
 * which answers from the instance that owns the key: the app's own server for {@code /mcp}, {@code
 * mcp.app.url} for {@code llm-streams mcp --stdio}. With a token: the caller's {@code
 * Authorization} header when it asks on a caller's behalf ({@link #asCaller}), else the configured
 * one.
 */
public final class AppQueries {
  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(5))
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();

  private static final ThreadLocal<String> CALLER = new ThreadLocal<>();

  private final Supplier<String> baseUrl;
  private final HttpClient client;
  private final String token;

  /** What the app answered. */
  record Answer(int status, String contentType, String body) {
    boolean json() {
      return contentType != null && contentType.startsWith("application/json");
    }
  }

  /** The app's HTTP connection failed or timed out; the message says where. */
  static final class Unreachable extends Exception {
    private static final long serialVersionUID = 1L;

    Unreachable(String message) {
      super(message);
    }
  }

  /**
   * @param baseUrl the base URL at call time, e.g. {@code http://127.0.0.1:9400}
   */
  public AppQueries(Supplier<String> baseUrl) {
    this(baseUrl, CLIENT, null);
  }

  /**
   * @param client the client to ask with (one that trusts the app's certificate)
   * @param token the bearer token to send when not asking on a caller's behalf; null: none
   */
  public AppQueries(Supplier<String> baseUrl, HttpClient client, String token) {
    this.baseUrl = baseUrl;
    this.client = client;
    this.token = token;
  }

  /**
   * Runs {@code work} on this thread with the queries it makes sending {@code authorization} (a
   * whole {@code Authorization} header value; null: the configured token).
   */
  static <T> T asCaller(String authorization, Supplier<T> work) {
    if (authorization == null) {
      return work.get();
    }
    CALLER.set(authorization);
    try {
      return work.get();
    } finally {
      CALLER.remove();
    }
  }

  String base() {
    return baseUrl.get().replaceAll("/+$", "");
  }

  /** {@code GET <base><prefix><segment>[?query]}, the segment percent-encoded as one path part. */
  Answer get(String prefix, String segment, String query) throws Unreachable, InterruptedException {
    String base = base();
    URI uri;
    try {
      // %20, not '+': the server decodes the segment as a path, and a '+' in a key must stay one.
      uri =
          URI.create(
              base
                  + prefix
                  + dev.llmstreams.observability.HttpApi.pathSegment(segment)
                  + (query == null ? "" : "?" + query));
    } catch (IllegalArgumentException e) {
      throw new Unreachable("'" + base + "' is not a URL");
    }
    try {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(uri).timeout(TIMEOUT).header("Accept", "application/json").GET();
      String authorization =
          CALLER.get() != null ? CALLER.get() : token == null ? null : "Bearer " + token;
      if (authorization != null) {
        request.header("Authorization", authorization);
      }
      HttpResponse<String> r =
          client.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      return new Answer(
          r.statusCode(), r.headers().firstValue("Content-Type").orElse(null), r.body());
    } catch (IOException e) {
      throw new Unreachable("the app at " + base + " cannot be reached: " + e);
    }
  }

  static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
