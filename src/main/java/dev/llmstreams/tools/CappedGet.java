package dev.llmstreams.tools;

import dev.llmstreams.runtime.tools.ToolException;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One HTTP GET with a time limit on the whole exchange (connect, headers and body) and a cap on the
 * body: the body is read up to {@code maxBytes}, then the connection is dropped. Redirects are
 * never followed here; the caller decides about each hop.
 */
final class CappedGet {
  private final HttpClient client;

  CappedGet(Duration connectTimeout) {
    this.client =
        HttpClient.newBuilder()
            .connectTimeout(connectTimeout)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /** What came back: the status, headers of interest and at most maxBytes of the body. */
  record Response(
      URI uri,
      int status,
      String contentType,
      Optional<String> location,
      byte[] body,
      boolean truncated) {
    String text() {
      return new String(body, charset());
    }

    private Charset charset() {
      if (contentType != null) {
        for (String part : contentType.split(";")) {
          String p = part.trim();
          if (p.regionMatches(true, 0, "charset=", 0, 8)) {
            try {
              return Charset.forName(p.substring(8).replace("\"", "").trim());
            } catch (RuntimeException e) {
              return StandardCharsets
                  .UTF_8; // an unknown charset name from the server: read it as UTF-8
            }
          }
        }
      }
      return StandardCharsets.UTF_8;
    }
  }

  Response get(URI uri, Duration timeLimit, int maxBytes, String accept)
      throws InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(uri).timeout(timeLimit).header("Accept", accept).GET().build();
    CompletableFuture<HttpResponse<Capped>> call =
        client.sendAsync(request, info -> new CappedBody(maxBytes));
    try {
      HttpResponse<Capped> r = call.get(timeLimit.toMillis(), TimeUnit.MILLISECONDS);
      return new Response(
          uri,
          r.statusCode(),
          r.headers().firstValue("Content-Type").orElse(null),
          r.headers().firstValue("Location"),
          r.body().bytes(),
          r.body().truncated());
    } catch (TimeoutException e) {
      call.cancel(true);
      throw new ToolException("GET " + uri + " took longer than " + timeLimit.toMillis() + " ms");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof HttpTimeoutException) {
        throw new ToolException("GET " + uri + " took longer than " + timeLimit.toMillis() + " ms");
      }
      throw new ToolException(
          "GET "
              + uri
              + " failed: "
              + cause.getClass().getSimpleName()
              + (cause.getMessage() == null ? "" : ": " + cause.getMessage()),
          cause);
    }
  }

  record Capped(byte[] bytes, boolean truncated) {}

  /**
   * Collects the body up to the cap, then cancels the rest (the server's remaining bytes are never
   * read).
   */
  private static final class CappedBody implements HttpResponse.BodySubscriber<Capped> {
    private final int maxBytes;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private final CompletableFuture<Capped> result = new CompletableFuture<>();
    private Flow.Subscription subscription;

    CappedBody(int maxBytes) {
      this.maxBytes = maxBytes;
    }

    @Override
    public CompletionStage<Capped> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(1);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      for (ByteBuffer b : items) {
        int room = maxBytes - buffer.size();
        int n = Math.min(room, b.remaining());
        byte[] chunk = new byte[n];
        b.get(chunk);
        buffer.write(chunk, 0, n);
        if (b.hasRemaining()) {
          subscription.cancel();
          result.complete(new Capped(buffer.toByteArray(), true));
          return;
        }
      }
      subscription.request(1);
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      result.complete(new Capped(buffer.toByteArray(), false));
    }
  }
}
