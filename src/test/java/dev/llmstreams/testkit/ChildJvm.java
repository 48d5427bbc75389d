package dev.llmstreams.testkit;

import dev.llmstreams.broker.LocalBroker;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The app in a separate JVM, so that a test can SIGKILL it (no shutdown hook, no commit) and start
 * it again.
 */
public final class ChildJvm {
  private ChildJvm() {}

  /** Writes {@code settings} as a properties file for {@code --config}. */
  public static Path writeConfig(Path file, Map<String, String> settings) throws IOException {
    Files.writeString(
        file,
        settings.entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining("\n"))
            + "\n");
    return file;
  }

  /**
   * Starts {@code mainClass args} on this test run's classpath; its output goes to {@code
   * dir/name.log}.
   */
  public static Process start(Path dir, String name, String mainClass, String... args)
      throws IOException {
    return start(dir, name, Map.of(), mainClass, args);
  }

  /**
   * Starts {@code mainClass args} on this test run's classpath with {@code env} added to its
   * environment, and without this JVM's {@code OTEL_*} variables (so tracing is on in the child
   * only when {@code env} says so); its output goes to {@code dir/name.log}.
   */
  public static Process start(
      Path dir, String name, Map<String, String> env, String mainClass, String... args)
      throws IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                // A test's app lives for seconds on a shared machine: C1 alone and the serial
                // collector start it sooner than C2's compiler threads and G1 do (ScriptedMcpServer
                // starts its JVMs the same way).
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-cp",
                String.join(File.pathSeparator, LocalBroker.childClasspath()),
                mainClass));
    cmd.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve(name + ".log").toFile());
    builder.environment().keySet().removeIf(k -> k.startsWith("OTEL_"));
    builder.environment().putAll(env);
    return builder.start();
  }

  /**
   * Starts the app ({@code llm-streams run --patterns <patterns> --config <config>}) in a JVM of
   * its own, which a test can SIGKILL; its output goes to {@code dir/name.log}.
   */
  public static Process runApp(Path dir, String name, Path config, String patterns)
      throws IOException {
    return start(
        dir,
        name,
        "dev.llmstreams.app.Main",
        "run",
        "--patterns",
        patterns,
        "--config",
        config.toString());
  }
}
