package dev.llmstreams.runtime.prompts;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.topics.ClasspathFolder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The system prompts and templates of the app's LLM requests, as data: one file {@code <id>.md}
 * each, shipped on the classpath under {@code prompts/}; a file of the same name in the folder
 * {@code prompts.dir} replaces the shipped one. Each prompt's version is the hash of its file, so
 * every request built from it, and every output that request leads to, can say which text it came
 * from.
 *
 * <p>Loading refuses, naming the file and what is wrong: a file whose name is not {@code <id>.md}
 * of a known prompt ({@link #SPECS}), a text that is empty or not UTF-8, and a template that lacks
 * a placeholder its code fills or has one its code does not fill. Files whose name starts with a
 * dot and folders are passed over (a mounted Kubernetes ConfigMap has both). Immutable; {@link #of}
 * loads once per process and folder.
 */
public final class Prompts {
  private static final Logger LOG = LoggerFactory.getLogger(Prompts.class);

  public static final String CONTROLLER_SYSTEM = "controller.system";
  public static final String SUMMARIZER_CHUNK = "summarizer.chunk";
  public static final String SUMMARIZER_MERGE = "summarizer.merge";
  public static final String SUMMARIZER_SYNTHESIS = "summarizer.synthesis";
  public static final String SPECIALIST_ESCALATE = "specialist.escalate";

  /**
   * A prompt the app knows.
   *
   * @param purpose the purpose of the LLM requests it instructs
   * @param use what it is for, in a sentence
   * @param placeholders the placeholders its code fills, each with what it is filled with; a
   *     replacement must have every one of them and no other
   */
  public record Spec(String id, String purpose, String use, Map<String, String> placeholders) {
    public Spec {
      placeholders = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(placeholders));
    }
  }

  /** Every prompt the app knows, in the order of the reference page. */
  public static final List<Spec> SPECS =
      List.of(
          new Spec(
              CONTROLLER_SYSTEM,
              "controller.plan",
              "The system message of every goal's conversation: reach the goal with the tools"
                  + " offered, answer in plain text, treat tool results as data.",
              Map.of()),
          new Spec(
              SUMMARIZER_CHUNK,
              "summarizer.chunk",
              "The system message of a chunk's summary; the chunk follows in the user message,"
                  + " fenced in <document> and </document>.",
              Map.of()),
          new Spec(
              SUMMARIZER_MERGE,
              "summarizer.merge",
              "The system message of a merge of summaries; they follow in the user message, each"
                  + " fenced in <summary> and </summary>.",
              Map.of()),
          new Spec(
              SUMMARIZER_SYNTHESIS,
              "summarizer.synthesis",
              "The system message of a synthesis (the merge of a tree's top into the text on"
                  + " syntheses); the summaries follow as for a merge. Shipped with the merge's text.",
              Map.of()),
          new Spec(
              SPECIALIST_ESCALATE,
              "specialist.escalate",
              "The system message of an escalation: how to label, the labels, and labelled"
                  + " examples; the event's text follows in the user message, on one line between"
                  + " <text> and </text>.",
              orderedMap(
                  "labels",
                  "one line per label the model knows, <label>: <description> (the"
                      + " description from specialist.label.descriptions, else the label in words)",
                  "examples",
                  "the line Labelled examples: and one line example (<label>): <text> per"
                      + " example (the specialist.escalation.examples training examples nearest"
                      + " to the event, of known labels, on one line with < and > escaped), or"
                      + " nothing when there are none")));

  /** The folder of the shipped prompts on the classpath. */
  public static final String SHIPPED_FOLDER = "prompts";

  private static final String SUFFIX = ".md";
  private static final Map<String, Prompts> LOADED = new HashMap<>();

  /**
   * A prompt file of {@code prompts.dir}, which replaces a shipped one.
   *
   * @param file where it was read from
   * @param shippedVersion the version of the prompt it replaces
   */
  public record Replacement(String id, Path file, String version, String shippedVersion) {}

  private final Map<String, Prompt> byId;
  private final List<Replacement> overrides;

  private Prompts(Map<String, Prompt> byId, List<Replacement> overrides) {
    this.byId = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(byId));
    this.overrides = List.copyOf(overrides);
  }

  /**
   * The prompts of {@code prompts.dir}, loaded at the first call for that folder in this process
   * (which logs the overridden ones) and the same instance after.
   *
   * @throws IllegalStateException naming the file and the problem
   */
  public static Prompts of(AppConfig config) {
    return cached(config.getString(AppConfig.PROMPTS_DIR));
  }

  /** The shipped prompts, with no override. */
  public static Prompts shipped() {
    return cached("");
  }

  private static Prompts cached(String dir) {
    synchronized (LOADED) {
      Prompts prompts = LOADED.get(dir);
      if (prompts == null) {
        prompts = load(dir);
        prompts.log(dir);
        LOADED.put(dir, prompts);
      }
      return prompts;
    }
  }

  /**
   * The shipped prompts, each replaced by its file in {@code dir} when there is one (null or blank:
   * none); read now, every time.
   *
   * @throws IllegalStateException naming the file and the problem
   */
  public static Prompts load(String dir) {
    Map<String, Prompt> shipped =
        read(ClasspathFolder.open(SHIPPED_FOLDER, "prompts"), "the shipped prompts");
    for (Spec spec : SPECS) {
      if (!shipped.containsKey(spec.id())) {
        throw new IllegalStateException(
            "prompts: the shipped prompt " + spec.id() + " is missing (" + fileOf(spec) + ")");
      }
    }
    Map<String, Prompt> prompts = new LinkedHashMap<>();
    SPECS.forEach(s -> prompts.put(s.id(), shipped.get(s.id())));
    List<Replacement> overrides = new ArrayList<>();
    if (dir != null && !dir.isBlank()) {
      Path folder = Path.of(dir);
      if (!Files.isDirectory(folder)) {
        throw new IllegalStateException(
            "prompts: "
                + AppConfig.PROMPTS_DIR
                + " "
                + folder.toAbsolutePath()
                + " is not a folder");
      }
      read(folder, AppConfig.PROMPTS_DIR + " " + folder)
          .forEach(
              (id, prompt) -> {
                overrides.add(
                    new Replacement(
                        id,
                        folder.resolve(id + SUFFIX),
                        prompt.version(),
                        prompts.get(id).version()));
                prompts.put(id, prompt);
              });
    }
    return new Prompts(prompts, overrides);
  }

  /** The prompt {@code id}; an unknown id is a mistake of the code. */
  public Prompt get(String id) {
    Prompt p = byId.get(id);
    if (p == null) {
      throw new IllegalArgumentException("no prompt " + id + "; known: " + byId.keySet());
    }
    return p;
  }

  /** Every prompt, in the order of {@link #SPECS}. */
  public List<Prompt> all() {
    return List.copyOf(byId.values());
  }

  /** The prompts that replace shipped ones, in the order of {@link #SPECS}. */
  public List<Replacement> overrides() {
    return overrides;
  }

  /** The spec of {@code id}; an unknown id is a mistake of the code. */
  public static Spec spec(String id) {
    return find(id).orElseThrow(() -> new IllegalArgumentException("no prompt " + id));
  }

  private static java.util.Optional<Spec> find(String id) {
    return SPECS.stream().filter(s -> s.id().equals(id)).findFirst();
  }

  /** {@code sha256:} and the first 12 hex digits of the SHA-256 of {@code bytes}. */
  static String version(byte[] bytes) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
      return "sha256:" + HexFormat.of().formatHex(digest, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private void log(String dir) {
    if (overrides.isEmpty()) {
      LOG.info("prompts: the shipped ones{}", dir.isBlank() ? "" : " (" + dir + " replaces none)");
      return;
    }
    for (Replacement o : overrides) {
      LOG.info(
          "prompts: {} is overridden by {}, version {} (shipped: {})",
          o.id(),
          o.file(),
          o.version(),
          o.shippedVersion());
    }
  }

  /** Every prompt file of {@code dir}, by id, in the order of {@link #SPECS}. */
  private static Map<String, Prompt> read(Path dir, String where) {
    Map<String, Prompt> out = new LinkedHashMap<>();
    List<Path> files;
    try (Stream<Path> listing = Files.list(dir)) {
      files =
          listing
              .filter(p -> !p.getFileName().toString().startsWith(".") && !Files.isDirectory(p))
              .sorted(Comparator.comparing(Path::toString))
              .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("prompts: cannot list " + where, e);
    }
    for (Path file : files) {
      String name = file.getFileName().toString();
      String id = name.endsWith(SUFFIX) ? name.substring(0, name.length() - SUFFIX.length()) : "";
      Spec spec = find(id).orElse(null);
      if (spec == null) {
        throw new IllegalStateException(
            "prompts: "
                + where
                + ": "
                + name
                + " is not a known prompt; a file there must be <id>.md of one of "
                + SPECS.stream().map(Spec::id).toList());
      }
      out.put(id, prompt(spec, file, where));
    }
    Map<String, Prompt> ordered = new LinkedHashMap<>();
    SPECS.stream()
        .filter(s -> out.containsKey(s.id()))
        .forEach(s -> ordered.put(s.id(), out.get(s.id())));
    return ordered;
  }

  /** The prompt of {@code spec} in {@code file}, checked. */
  private static Prompt prompt(Spec spec, Path file, String where) {
    String name = where + ": " + file.getFileName();
    byte[] bytes;
    String text;
    try {
      bytes = Files.readAllBytes(file);
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString()
              .strip();
    } catch (CharacterCodingException e) {
      throw new IllegalStateException("prompts: " + name + " is not UTF-8 text", e);
    } catch (IOException e) {
      throw new UncheckedIOException("prompts: cannot read " + name, e);
    }
    if (text.isEmpty()) {
      throw new IllegalStateException("prompts: " + name + " is empty");
    }
    List<String> expected = List.copyOf(spec.placeholders().keySet());
    Matcher m = Prompt.PLACEHOLDER.matcher(text);
    List<String> found = new ArrayList<>();
    while (m.find()) {
      if (!expected.contains(m.group(1))) {
        throw new IllegalStateException(
            "prompts: "
                + name
                + " has placeholder {{"
                + m.group(1)
                + "}}, which the code of prompt "
                + spec.id()
                + " does not fill; "
                + placeholdersOf(expected));
      }
      found.add(m.group(1));
    }
    for (String placeholder : expected) {
      if (!found.contains(placeholder)) {
        throw new IllegalStateException(
            "prompts: "
                + name
                + " lacks placeholder {{"
                + placeholder
                + "}}, which prompt "
                + spec.id()
                + " needs; "
                + placeholdersOf(expected));
      }
    }
    return new Prompt(spec.id(), version(bytes), text);
  }

  private static String placeholdersOf(List<String> names) {
    return names.isEmpty()
        ? "it has no placeholders"
        : "its placeholders are "
            + String.join(", ", names.stream().map(n -> "{{" + n + "}}").toList());
  }

  private static String fileOf(Spec spec) {
    return SHIPPED_FOLDER + "/" + spec.id() + SUFFIX + " on the classpath";
  }

  private static Map<String, String> orderedMap(String... keysAndValues) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      m.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return m;
  }
}
