package dev.llmstreams.runtime.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.llmstreams.topics.JsonFolder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The tools the controller can call: the built-in definitions shipped under {@code topics/tools/},
 * plus any in the folder named by {@code tools.dir}. Each definition's argument schema is compiled
 * once; {@link #validate} checks arguments against it before a call leaves the controller.
 */
public final class ToolRegistry {
  private static final JsonSchemaFactory FACTORY =
      JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
  private static final SchemaValidatorsConfig CONFIG =
      SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();

  /** The definitions and compiled schemas in effect; replaced whole when tools come or go. */
  private record Snapshot(Map<String, ToolDefinition> tools, Map<String, JsonSchema> schemas) {}

  private final List<ToolDefinition> fixed;
  private volatile Snapshot snapshot;

  public ToolRegistry(Collection<ToolDefinition> definitions) {
    this.fixed = List.copyOf(definitions);
    this.snapshot = compile(fixed);
  }

  private static Snapshot compile(Collection<ToolDefinition> definitions) {
    Map<String, ToolDefinition> byName = new LinkedHashMap<>();
    Map<String, JsonSchema> compiled = new LinkedHashMap<>();
    for (ToolDefinition d :
        definitions.stream().sorted(Comparator.comparing(ToolDefinition::name)).toList()) {
      if (byName.put(d.name(), d) != null) {
        throw new IllegalStateException("tool registry: tool " + d.name() + " is defined twice");
      }
      try {
        compiled.put(d.name(), FACTORY.getSchema(d.parameters(), CONFIG));
      } catch (RuntimeException e) {
        throw new IllegalStateException(
            "tool registry: the parameters of "
                + d.name()
                + " are not a JSON Schema: "
                + e.getMessage(),
            e);
      }
    }
    return new Snapshot(java.util.Collections.unmodifiableMap(byName), Map.copyOf(compiled));
  }

  /**
   * Replaces the tools that come from elsewhere than files (an MCP server's list, which may change
   * while the app runs) with {@code discovered}; the definitions given at construction stay.
   */
  public synchronized void replaceDiscovered(Collection<ToolDefinition> discovered) {
    List<ToolDefinition> all = new ArrayList<>(fixed);
    all.addAll(discovered);
    snapshot = compile(all);
  }

  /**
   * The built-in tools shipped in the jar, plus the definitions in {@code extraDir} (null or empty:
   * none).
   */
  public static ToolRegistry load(String extraDir) {
    List<ToolDefinition> all = new ArrayList<>(builtIn());
    if (extraDir != null && !extraDir.isBlank()) {
      Path dir = Path.of(extraDir);
      if (!Files.isDirectory(dir)) {
        throw new IllegalStateException(
            "tool registry: tools.dir " + dir.toAbsolutePath() + " is not a folder");
      }
      all.addAll(read(dir));
    }
    return new ToolRegistry(all);
  }

  /** The definitions shipped on the classpath under {@code topics/tools/}. */
  public static List<ToolDefinition> builtIn() {
    return read(dev.llmstreams.topics.ClasspathFolder.open("topics/tools", "tool registry"));
  }

  /** Every {@code *.json} file of a folder, each one tool named like its file. */
  public static List<ToolDefinition> read(Path dir) {
    List<ToolDefinition> out =
        JsonFolder.read(
            dir, ToolDefinition.class, ToolDefinition::name, "tool registry", "defines tool");
    for (ToolDefinition d : out) {
      if (d.name().contains("__")) {
        throw new IllegalStateException(
            "tool registry: "
                + d.name()
                + ".json: a tool name may not contain '__', which separates an MCP server from its tools");
      }
    }
    return out;
  }

  public Optional<ToolDefinition> find(String name) {
    return Optional.ofNullable(snapshot.tools().get(name));
  }

  public ToolDefinition get(String name) {
    return find(name)
        .orElseThrow(
            () -> new IllegalArgumentException("unknown tool '" + name + "'; known: " + names()));
  }

  /**
   * The built-in tool whose calls the controller runs itself, as child goals ({@code
   * topics/tools/delegate.json}): it has no {@code tool-calls} topic and no worker.
   */
  public static final String DELEGATE = "delegate";

  /** The tools whose calls go to a {@code tool-calls} topic: every tool but {@code delegate}. */
  public java.util.List<String> topicTools() {
    return names().stream().filter(t -> !t.equals(DELEGATE)).toList();
  }

  public Set<String> names() {
    return snapshot.tools().keySet();
  }

  public List<ToolDefinition> all() {
    return List.copyOf(snapshot.tools().values());
  }

  /**
   * The problems of {@code arguments} for a tool's schema, one line each ({@code $.expression: is
   * missing but it is required}); empty when valid.
   */
  public List<String> validate(String tool, JsonNode arguments) {
    JsonSchema schema = snapshot.schemas().get(tool);
    if (schema == null) {
      return List.of("unknown tool '" + tool + "'");
    }
    if (arguments == null || !arguments.isObject()) {
      return List.of("$: the arguments must be a JSON object");
    }
    try {
      return schema.validate(arguments).stream()
          .map(ValidationMessage::getMessage)
          .sorted()
          .toList();
    } catch (StackOverflowError e) {
      // A $ref that leads back to itself ({"$ref": ""}), e.g. in an MCP server's inputSchema: the
      // validator recurses without end (the same finding as McpSchemaValidatorFuzzTest's).
      return List.of("$: the tool's parameters schema refers to itself without end");
    }
  }
}
