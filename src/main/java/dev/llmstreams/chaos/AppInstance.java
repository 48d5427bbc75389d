package dev.llmstreams.chaos;

import dev.llmstreams.broker.LocalBroker;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * One app instance of a chaos run: {@code Main run} in its own JVM (so it can be SIGKILLed: no
 * shutdown hook, no commit), with its own config file, state dir and HTTP port; started again on
 * the same port and state after a kill.
 */
final class AppInstance implements AutoCloseable {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final String name;
  private final Path dir;
  private final Path config;
  private final int httpPort;
  private final String heap;
  private final List<String> jvmOptions;
  private Process process;
  private int starts;

  AppInstance(String name, Path dir, int httpPort, Map<String, String> settings, String heap)
      throws IOException {
    this(name, dir, httpPort, settings, heap, List.of());
  }

  /** {@code jvmOptions}: more options for the JVM, before its main class. */
  AppInstance(
      String name,
      Path dir,
      int httpPort,
      Map<String, String> settings,
      String heap,
      List<String> jvmOptions)
      throws IOException {
    this.name = name;
    this.jvmOptions = List.copyOf(jvmOptions);
    this.dir = Files.createDirectories(dir);
    this.httpPort = httpPort;
    this.heap = heap;
    this.config = dir.resolve("app.properties");
    Files.writeString(
        config,
        settings.entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining("\n"))
            + "\n");
  }

  String name() {
    return name;
  }

  int httpPort() {
    return httpPort;
  }

  /**
   * How many times it was started: names the JVM whose counters {@link #metrics()} shows (a kill
   * resets them).
   */
  synchronized int starts() {
    return starts;
  }

  /** Starts the JVM; its output is appended to {@code dir/app-<n>.log}, one file per start. */
  synchronized void start() throws IOException {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException(name + " is running");
    }
    starts++;
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap,
                "-Djava.io.tmpdir=" + Files.createDirectories(dir.resolve("tmp"))));
    cmd.addAll(jvmOptions);
    cmd.addAll(
        List.of(
            "-cp",
            String.join(File.pathSeparator, LocalBroker.childClasspath()),
            "dev.llmstreams.app.Main",
            "--config",
            config.toString(),
            "run"));
    process =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("app-" + starts + ".log").toFile())
            .start();
  }

  /**
   * SIGKILL, as a crash: the JVM gets no chance to commit, close its producers or leave the group.
   */
  synchronized void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }

  synchronized boolean alive() {
    return process != null && process.isAlive();
  }

  Optional<Long> pid() {
    Process p = process;
    return p == null ? Optional.empty() : Optional.of(p.pid());
  }

  /** True when {@code /ready} answers 200: every pattern's Kafka Streams instance is RUNNING. */
  boolean ready() {
    return get("/ready").map(r -> r.statusCode() == 200).orElse(false);
  }

  /** The Prometheus text of {@code /metrics}, if the instance answers. */
  Optional<String> metrics() {
    return get("/metrics").filter(r -> r.statusCode() == 200).map(HttpResponse::body);
  }

  private Optional<HttpResponse<String>> get(String path) {
    if (!alive()) {
      return Optional.empty();
    }
    try {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
              .timeout(Duration.ofSeconds(5))
              .GET()
              .build();
      return Optional.of(HTTP.send(request, HttpResponse.BodyHandlers.ofString()));
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /** Waits until ready; returns the wait, or empty when the timeout passed or the JVM died. */
  Optional<Duration> awaitReady(Duration timeout) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!alive()) {
        return Optional.empty();
      }
      if (ready()) {
        return Optional.of(Duration.ofNanos(System.nanoTime() - start));
      }
      Thread.sleep(100);
    }
    return Optional.empty();
  }

  /** The last lines of the newest log, for an error message. */
  String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(dir.resolve("app-" + starts + ".log"));
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Graceful stop (SIGTERM), then SIGKILL if it does not end in time. */
  @Override
  public synchronized void close() {
    try {
      if (process != null && process.isAlive()) {
        process.destroy();
        if (!process.waitFor(40, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(10, TimeUnit.SECONDS);
        }
      }
    } catch (InterruptedException e) {
      process
          .destroyForcibly(); // no time left to wait for a graceful stop: never leave an instance
      // behind
      Thread.currentThread().interrupt();
    }
  }
}
