package dev.llmstreams.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A route gets the path after its prefix decoded once, as a path: {@code +} stays a plus, {@code
 * %2B} is one too, {@code %25} is a percent sign. Keys are what users chose (a synthesis key "c++
 * team", a goal id "100%"), and {@link HttpApi#pathSegment} writes one so that it comes back.
 */
class HttpApiPathTest {
  private static final HttpClient CLIENT = HttpClient.newHttpClient();

  @Test
  void shouldHandARouteItsKeyDecodedOnceAsAPath() throws Exception {
    try (Observability observability = new Observability();
        HttpApi http =
            new HttpApi("127.0.0.1", 0, observability, () -> Health.of(Map.of("t", "RUNNING")))) {
      http.route("/echo/", (rest, query) -> HttpApi.Reply.text(200, rest + "|" + query));
      http.start();
      String base = "http://127.0.0.1:" + http.port() + "/echo/";

      assertThat(get(base + "c++%20team")).isEqualTo("c++ team|null");
      assertThat(get(base + "c%2B%2B%20team?window=x%2By")).isEqualTo("c++ team|window=x%2By");
      assertThat(get(base + "100%25%20done")).isEqualTo("100% done|null");
      assertThat(get(base + "r%C3%A9union%2F%C3%A9quipe"))
          .isEqualTo("r\u00e9union/\u00e9quipe|null");
      for (String key :
          new String[] {"c++ team", "100% done", "a%2Fb", "x/y", "\u00e9 \u00fc?#&="}) {
        assertThat(get(base + HttpApi.pathSegment(key))).as(key).isEqualTo(key + "|null");
      }
    }
  }

  @Test
  void shouldServeOnlyTheRoutesPathsAndAnswerEveryOtherWithAJson404() throws Exception {
    try (Observability observability = new Observability();
        HttpApi http =
            new HttpApi("127.0.0.1", 0, observability, () -> Health.of(Map.of("t", "RUNNING")))) {
      http.route("/echo/", (rest, query) -> HttpApi.Reply.text(200, rest));
      http.route("/status", (rest, query) -> HttpApi.Reply.text(200, "ok"));
      http.start();
      String base = "http://127.0.0.1:" + http.port();

      assertThat(get(base + "/status")).isEqualTo("ok");
      assertThat(get(base + "/echo/k")).isEqualTo("k");
      // The server matches by prefix; these are not the routes' paths.
      for (String path :
          new String[] {
            "/statusx", "/status/", "/status/1", "/healthz", "/metricsx", "/nope", "/"
          }) {
        HttpResponse<String> r = send(base + path, "GET");
        assertThat(r.statusCode()).as(path).isEqualTo(404);
        assertThat(r.headers().firstValue("Content-Type")).as(path).hasValue("application/json");
        assertThat(r.body())
            .as(path)
            .isEqualTo(
                "{\"error\":\"no route "
                    + path
                    + "\",\"routes\":[\"/echo/{key}\",\"/health\",\"/metrics\",\"/ready\",\"/status\"]}");
      }
      HttpResponse<String> head = send(base + "/nope", "HEAD");
      assertThat(head.statusCode()).isEqualTo(404);
      assertThat(head.body()).isEmpty();
      assertThat(send(base + "/health", "GET").statusCode()).isEqualTo(200);
      assertThat(send(base + "/metrics", "GET").body()).contains("# TYPE");
    }
  }

  private static HttpResponse<String> send(String uri, String method) throws Exception {
    return CLIENT.send(
        HttpRequest.newBuilder(URI.create(uri))
            .method(method, HttpRequest.BodyPublishers.noBody())
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String get(String uri) throws Exception {
    HttpResponse<String> r =
        CLIENT.send(
            HttpRequest.newBuilder(URI.create(uri)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(uri).isEqualTo(200);
    return r.body();
  }
}
