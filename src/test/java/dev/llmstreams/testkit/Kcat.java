package dev.llmstreams.testkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code kcat}, the librdkafka command-line client, as a subprocess: a producer that is not Java's.
 * Its default partitioner ({@code consistent_random}) puts a keyed record on CRC32(key) %
 * partitions, as librdkafka clients in Python, Go, .NET and Node do, where Java's puts it on
 * murmur2(key) % partitions.
 *
 * <p>Tests that use it fail, never skip, where it is missing ({@link #requireInstalled()}): CI
 * installs it ({@code .ci/run}).
 */
public final class Kcat {
  private static final long TIMEOUT_S = 60;

  private Kcat() {}

  /**
   * The version line of {@code kcat -V}; fails with how to install it when {@code kcat} is not on
   * the PATH.
   */
  public static String requireInstalled() {
    String path = System.getenv().getOrDefault("PATH", "");
    boolean found = installed();
    if (!found) {
      throw new IllegalStateException(
          "kcat is not on the PATH ("
              + path
              + "): install it with `apt-get install kcat`"
              + " (CI's .ci/run does). These tests produce with librdkafka's default partitioner and do not run without"
              + " it.");
    }
    String out = run(List.of("kcat", "-V"), "");
    return out.lines().filter(l -> l.startsWith("Version")).findFirst().orElse(out.strip());
  }

  /**
   * Produces {@code records} (key, value) to {@code topic} as {@code kcat -P -K '\t'} does from
   * standard input, one {@code key<TAB>value} line a record, with the default partitioner, and
   * waits until kcat has flushed them and exited. Keys and values must hold no tab and no line
   * break (compact JSON has none: JSON escapes them in strings).
   */
  public static void produce(
      String bootstrap, String topic, List<Map.Entry<String, String>> records) {
    produce(bootstrap, topic, records, Map.of());
  }

  /** Whether {@code kcat} is on the PATH. */
  private static boolean installed() {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String d : path.split(File.pathSeparator)) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, "kcat"))) {
        return true;
      }
    }
    return false;
  }

  /**
   * As {@link #produce(String, String, List)}, every record with the {@code headers} ({@code kcat
   * -H name=value}), e.g. a W3C {@code traceparent}.
   */
  public static void produce(
      String bootstrap,
      String topic,
      List<Map.Entry<String, String>> records,
      Map<String, String> headers) {
    produce(bootstrap, topic, records, headers, Map.of());
  }

  /**
   * As {@link #produce(String, String, List, Map)}, with librdkafka settings ({@code -X
   * name=value}), e.g. {@code security.protocol}, {@code sasl.*} and {@code ssl.ca.location} for a
   * secured cluster. Fails (with kcat's output) when kcat reports a record it could not deliver.
   */
  public static void produce(
      String bootstrap,
      String topic,
      List<Map.Entry<String, String>> records,
      Map<String, String> headers,
      Map<String, String> settings) {
    StringBuilder stdin = new StringBuilder();
    for (Map.Entry<String, String> r : records) {
      for (String part : List.of(r.getKey(), r.getValue())) {
        if (part.indexOf('\t') >= 0 || part.indexOf('\n') >= 0 || part.indexOf('\r') >= 0) {
          throw new IllegalArgumentException(
              "kcat reads one key<TAB>value a line: no tab or line break in " + part);
        }
      }
      stdin.append(r.getKey()).append('\t').append(r.getValue()).append('\n');
    }
    List<String> command =
        new ArrayList<>(
            List.of(
                "kcat",
                "-P",
                "-b",
                bootstrap,
                "-t",
                topic,
                "-K",
                "\\t",
                "-X",
                "message.timeout.ms=30000"));
    settings.forEach(
        (name, value) -> {
          command.add("-X");
          command.add(name + "=" + value);
        });
    headers.forEach(
        (name, value) -> {
          if (name.indexOf('=') >= 0) {
            throw new IllegalArgumentException("kcat -H takes name=value: no '=' in " + name);
          }
          command.add("-H");
          command.add(name + "=" + value);
        });
    run(command, stdin.toString());
  }

  private static String run(List<String> command, String stdin) {
    try {
      Path out = Files.createTempFile("kcat", ".out");
      try {
        Process p =
            new ProcessBuilder(new ArrayList<>(command))
                .redirectErrorStream(true)
                .redirectOutput(out.toFile())
                .start();
        try (var in = p.getOutputStream()) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new IllegalStateException(
              String.join(" ", command)
                  + " did not exit within "
                  + TIMEOUT_S
                  + " s: "
                  + Files.readString(out));
        }
        String output = Files.readString(out);
        if (p.exitValue() != 0) {
          throw new IllegalStateException(
              String.join(" ", command) + " exited with " + p.exitValue() + ": " + output);
        }
        return output;
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    }
  }
}
