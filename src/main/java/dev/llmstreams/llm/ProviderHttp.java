package dev.llmstreams.llm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.Json;
import dev.llmstreams.events.LlmError.Code;
import dev.llmstreams.events.LlmRequest;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * The HTTP side shared by the providers: one {@link HttpClient} per provider, one JSON POST per
 * call, and the mapping of every way a call can fail to a {@link ProviderException}.
 *
 * <p>Failure mapping (the gateway decides on retries from {@code code}, {@code retryable} and
 * {@code retryAfter}):
 *
 * <ul>
 *   <li>429: {@code rate_limited}, retryable, with {@code retry-after-ms} or {@code Retry-After}
 *       (seconds or an HTTP-date);
 *   <li>408, 409, 5xx (Anthropic's 529 "overloaded" included): {@code provider_error}, retryable,
 *       Retry-After kept;
 *   <li>401, 403: {@code unauthorized}; other 4xx: {@code invalid_request}, or {@code
 *       context_length_exceeded} when the body says the prompt is too long; none retryable;
 *   <li>no answer within the connection timeout: {@code timeout}, retryable; connection refused or
 *       reset: {@code provider_error}, retryable;
 *   <li>a success whose body is not JSON, is not {@code application/json}, or lacks the expected
 *       fields: {@code invalid_response}, <b>retryable</b>: the request itself was fine, and a
 *       flaky proxy, a load balancer error page or a model hiccup may not happen again. Tool
 *       arguments that are not JSON are the exception (see the providers): the model wrote them,
 *       and sending the same prompt is unlikely to help.
 * </ul>
 *
 * <p>Messages are one short line: the provider name, what happened, and at most {@value
 * #MAX_DETAIL} characters of the provider's own explanation. They never contain the API key (it is
 * masked even when a server echoes it) nor the prompt.
 */
final class ProviderHttp {
  static final int MAX_DETAIL = 300;

  private static final String[] CONTEXT_LENGTH_HINTS = {
    "context_length_exceeded",
    "maximum context length",
    "prompt is too long",
    "exceed_context_size",
    "context length exceeded",
    "exceeds the context window"
  };

  private final String provider;
  private final ProviderConnection connection;
  private final HttpClient client;
  private final Clock clock;

  ProviderHttp(String provider, ProviderConnection connection, Clock clock) {
    this.provider = provider;
    this.connection = connection;
    this.clock = clock;
    this.client =
        HttpClient.newBuilder()
            // Many local servers (llama.cpp, LM Studio, some proxies) do not speak h2c.
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(connection.timeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /**
   * POSTs {@code body} as JSON and completes with {@code parser} applied to the JSON answer.
   * Completes exceptionally with a {@link ProviderException}, not wrapped, for every failure; never
   * blocks.
   */
  <T> CompletableFuture<T> postJson(
      URI uri, Map<String, String> headers, JsonNode body, Function<JsonNode, T> parser) {
    CompletableFuture<T> result = new CompletableFuture<>();
    CompletableFuture<HttpResponse<String>> send;
    try {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(uri)
              .timeout(connection.timeout())
              .header("content-type", "application/json")
              .header("accept", "application/json")
              .POST(HttpRequest.BodyPublishers.ofByteArray(Json.writer().writeValueAsBytes(body)));
      headers.forEach(request::header);
      send = client.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (JsonProcessingException | RuntimeException e) {
      result.completeExceptionally(failure(e));
      return result;
    }
    // HttpRequest.timeout only covers the wait for the response headers: bound the body too, in the
    // same budget.
    send.copy()
        .orTimeout(connection.timeout().toMillis(), TimeUnit.MILLISECONDS)
        .whenComplete(
            (response, error) -> {
              if (error != null) {
                send.cancel(true);
                result.completeExceptionally(failure(error));
                return;
              }
              try {
                result.complete(parser.apply(jsonBody(response)));
              } catch (ProviderException e) {
                result.completeExceptionally(e);
              } catch (RuntimeException e) {
                result.completeExceptionally(
                    exception(
                        Code.INVALID_RESPONSE,
                        "could not read the answer (" + e.getClass().getSimpleName() + ")",
                        true,
                        null,
                        response.statusCode(),
                        e));
              }
            });
    return result;
  }

  /** The model to call: the one asked for, else the request's, else the connection's default. */
  String model(String model, LlmRequest request) {
    for (String candidate : new String[] {model, request.model(), connection.defaultModel()}) {
      if (candidate != null && !candidate.isBlank()) {
        return candidate;
      }
    }
    throw exception(
        Code.INVALID_REQUEST,
        "no model: the request names none and no default model is configured",
        false,
        null,
        0,
        null);
  }

  /** A provider failure with this provider's name in front of the message and the key masked. */
  ProviderException exception(
      Code code,
      String message,
      boolean retryable,
      Duration retryAfter,
      int status,
      Throwable cause) {
    return new ProviderException(
        code, provider + ": " + redact(message), retryable, retryAfter, status, cause);
  }

  /** An answer that did not have the expected shape: retryable, see the class comment. */
  ProviderException invalidResponse(String what, int status) {
    return exception(Code.INVALID_RESPONSE, "invalid answer: " + what, true, null, status, null);
  }

  private JsonNode jsonBody(HttpResponse<String> response) {
    int status = response.statusCode();
    String body = response.body() == null ? "" : response.body();
    if (status < 200 || status > 299) {
      throw statusFailure(status, response.headers(), body);
    }
    String contentType = response.headers().firstValue("content-type").orElse("");
    // An absent content type is tolerated (some minimal servers omit it); a different one is not.
    if (!contentType.isBlank() && !isJson(contentType)) {
      throw invalidResponse(
          "expected application/json but got " + cap(contentType, 60) + ": " + cap(body), status);
    }
    JsonNode json;
    try {
      json = Json.reader().readTree(body);
    } catch (JsonProcessingException e) {
      throw exception(
          Code.INVALID_RESPONSE,
          "invalid answer: the body is not JSON: " + cap(body),
          true,
          null,
          status,
          null);
    }
    if (json == null || !json.isObject()) {
      throw invalidResponse("the body is not a JSON object: " + cap(body), status);
    }
    return json;
  }

  private static boolean isJson(String contentType) {
    String mediaType = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    return mediaType.equals("application/json") || mediaType.endsWith("+json");
  }

  ProviderException statusFailure(int status, HttpHeaders headers, String body) {
    String detail = errorDetail(body);
    String suffix = detail.isEmpty() ? "" : ": " + detail;
    Duration retryAfter = retryAfter(headers, clock);
    if (status == 429) {
      return exception(
          Code.RATE_LIMITED, "rate limited (HTTP 429)" + suffix, true, retryAfter, status, null);
    }
    if (status == 401 || status == 403) {
      return exception(
          Code.UNAUTHORIZED,
          "not authorized (HTTP " + status + "), check the API key" + suffix,
          false,
          null,
          status,
          null);
    }
    if (status == 408 || status == 409 || status >= 500) {
      String what = status == 529 || status == 503 ? "overloaded" : "server error";
      return exception(
          Code.PROVIDER_ERROR,
          what + " (HTTP " + status + ")" + suffix,
          true,
          retryAfter,
          status,
          null);
    }
    if (status >= 400) {
      if (mentionsContextLength(body)) {
        return exception(
            Code.CONTEXT_LENGTH_EXCEEDED,
            "the prompt is longer than the model's context (HTTP " + status + ")" + suffix,
            false,
            null,
            status,
            null);
      }
      return exception(
          Code.INVALID_REQUEST,
          "request rejected (HTTP " + status + ")" + suffix,
          false,
          null,
          status,
          null);
    }
    // 1xx or 3xx: redirects are not followed (a POST must not silently become a GET); the base URL
    // is wrong.
    String location = headers.firstValue("location").map(l -> " to " + cap(l, 120)).orElse("");
    return exception(
        Code.PROVIDER_ERROR,
        "unexpected HTTP " + status + location + ", check the base URL",
        false,
        null,
        status,
        null);
  }

  ProviderException failure(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof ProviderException e) {
      return e;
    }
    if (cause instanceof HttpTimeoutException || cause instanceof TimeoutException) {
      return exception(
          Code.TIMEOUT,
          "no answer within " + connection.timeout().toMillis() + " ms",
          true,
          null,
          0,
          cause);
    }
    String target = connection.baseUrl().getHost() + ":" + connection.baseUrl().getPort();
    if (cause instanceof ConnectException) {
      return exception(Code.PROVIDER_ERROR, "cannot connect to " + target, true, null, 0, cause);
    }
    if (cause instanceof IOException) {
      String message = cause.getMessage() == null ? "" : ": " + cap(cause.getMessage(), 120);
      return exception(
          Code.PROVIDER_ERROR,
          "connection to "
              + target
              + " failed ("
              + cause.getClass().getSimpleName()
              + message
              + ")",
          true,
          null,
          0,
          cause);
    }
    if (cause instanceof CancellationException) {
      return exception(Code.PROVIDER_ERROR, "call cancelled", false, null, 0, cause);
    }
    if (cause instanceof IllegalArgumentException || cause instanceof JsonProcessingException) {
      return exception(
          Code.INVALID_REQUEST,
          "cannot send the request (" + cause.getClass().getSimpleName() + ")",
          false,
          null,
          0,
          cause);
    }
    return exception(
        Code.PROVIDER_ERROR,
        "unexpected failure (" + cause.getClass().getSimpleName() + ")",
        false,
        null,
        0,
        cause);
  }

  /**
   * How long the server asked us to wait: {@code retry-after-ms} (OpenAI) first, then {@code
   * Retry-After} as seconds or as an HTTP-date; null when absent or unreadable. Never negative.
   */
  static Duration retryAfter(HttpHeaders headers, Clock clock) {
    String millis = headers.firstValue("retry-after-ms").orElse("").trim();
    if (!millis.isEmpty()) {
      try {
        return nonNegative(Duration.ofNanos(Math.round(Double.parseDouble(millis) * 1_000_000)));
      } catch (NumberFormatException ignored) {
        // fall through to Retry-After
      }
    }
    String value = headers.firstValue("retry-after").orElse("").trim();
    if (value.isEmpty()) {
      return null;
    }
    try {
      return nonNegative(Duration.ofMillis(Math.round(Double.parseDouble(value) * 1000)));
    } catch (NumberFormatException notSeconds) {
      try {
        ZonedDateTime at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME);
        return nonNegative(Duration.between(clock.instant(), at.toInstant()));
      } catch (DateTimeParseException notADate) {
        return null;
      }
    }
  }

  private static Duration nonNegative(Duration d) {
    return d.isNegative() ? Duration.ZERO : d;
  }

  static boolean mentionsContextLength(String body) {
    String lower = body.toLowerCase(Locale.ROOT);
    for (String hint : CONTEXT_LENGTH_HINTS) {
      if (lower.contains(hint)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The provider's own explanation: {@code error.message} (OpenAI, Anthropic, vLLM, llama.cpp) or
   * the raw body.
   */
  static String errorDetail(String body) {
    if (body == null || body.isBlank()) {
      return "";
    }
    try {
      JsonNode json = Json.reader().readTree(body);
      if (json != null && json.isObject()) {
        JsonNode error = json.get("error");
        if (error != null && error.isObject() && error.path("message").isTextual()) {
          return cap(error.get("message").asText());
        }
        if (error != null && error.isTextual()) {
          return cap(error.asText());
        }
        if (json.path("message").isTextual()) {
          return cap(json.get("message").asText());
        }
      }
    } catch (JsonProcessingException notJson) {
      // fall through to the raw body
    }
    return cap(body);
  }

  static String cap(String text) {
    return cap(text, MAX_DETAIL);
  }

  /** One line of at most {@code max} characters. */
  static String cap(String text, int max) {
    String line = text.replaceAll("\\s+", " ").trim();
    return line.length() <= max ? line : line.substring(0, max) + "…";
  }

  private String redact(String message) {
    String key = connection.apiKey();
    return key == null || key.isEmpty() ? message : message.replace(key, "[hidden]");
  }

  /**
   * {@code base} with {@code path} appended to its path, keeping its query (Azure-style {@code
   * ?api-version=...}).
   */
  static URI resolve(URI base, String path) {
    String basePath = base.getRawPath() == null ? "" : base.getRawPath();
    while (basePath.endsWith("/")) {
      basePath = basePath.substring(0, basePath.length() - 1);
    }
    String query = base.getRawQuery() == null ? "" : "?" + base.getRawQuery();
    return URI.create(
        base.getScheme() + "://" + base.getRawAuthority() + basePath + "/" + path + query);
  }

  static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value != null && value.isTextual() ? value.asText() : null;
  }
}
