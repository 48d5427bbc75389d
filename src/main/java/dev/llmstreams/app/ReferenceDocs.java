package dev.llmstreams.app;

import dev.llmstreams.app.Flows.Flow;
import dev.llmstreams.broker.KafkaCommand;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.runtime.prompts.Prompts;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.TopicRole;
import dev.llmstreams.topics.TopicSpec;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.TopicConfig;
import picocli.CommandLine;

/**
 * The reference pages under {@code docs/}, generated from the code so they cannot drift from it:
 * the configuration keys ({@link AppConfig#DEFINITION}), the topic catalog, the command line, the
 * meters of a running app, the topology diagram of {@code docs/architecture.md} and the table of
 * prompts of {@code docs/prompts.md}. Every page is deterministic: sorted, no timestamps, no paths
 * or values of the machine it was generated on.
 *
 * <p>{@code ReferenceDocsTest} (and {@code PrometheusIT} for the meters) compare the committed
 * pages with these and rewrite them when run with {@code -Ddocs.write=true}.
 */
public final class ReferenceDocs {
  public static final String CONFIGURATION = "docs/configuration.md";
  public static final String TOPICS = "docs/topics.md";
  public static final String CLI = "docs/cli.md";
  public static final String METERS = "docs/meters.md";
  public static final String ARCHITECTURE = "docs/architecture.md";
  public static final String SECURITY = "docs/security.md";
  public static final String ACLS_BEGIN = "<!-- generated: acls -->";
  public static final String ACLS_END = "<!-- end generated: acls -->";
  public static final String PROMPTS = "docs/prompts.md";
  public static final String PROMPTS_BEGIN = "<!-- generated: prompts -->";
  public static final String PROMPTS_END = "<!-- end generated: prompts -->";

  /** Rewrites the pages made without a broker. */
  public static final String REGENERATE = "mvn -B test -Dtest=ReferenceDocsTest -Ddocs.write=true";

  /**
   * Rewrites the meters page: a real broker, and a real Prometheus (the test that makes the page
   * needs one).
   */
  public static final String REGENERATE_METERS =
      "mvn -B verify -Dtest=NoSuch -Dsurefire.failIfNoSpecifiedTests=false"
          + " -Dit.test=PrometheusIT -Ddocs.write=true";

  public static final String TOPOLOGY_BEGIN = "<!-- generated: topology -->";
  public static final String TOPOLOGY_END = "<!-- end generated: topology -->";

  /** Sinks whose topic is chosen per record, and where they write. */
  static final Map<String, String> DYNAMIC_SINKS =
      Map.of("tools.publish", "topics listed in " + AppConfig.TOOLS_PUBLISH_ALLOWED_TOPICS);

  private ReferenceDocs() {}

  private static String generatedLine(String from, String regenerate) {
    return "_Generated from "
        + from
        + " by `"
        + ReferenceDocs.class.getName()
        + "`: do not edit by hand. Regenerate with `"
        + regenerate
        + "`._\n";
  }

  // ------------------------------------------------------------------------------------------------ configuration

  /** A group of keys on the configuration page: the keys under a prefix. */
  private record Section(String prefix, String title, String intro) {}

  private static final List<Section> SECTIONS =
      List.of(
          new Section(
              "kafka.",
              "Kafka cluster and local broker (`kafka.`)",
              "Where the app finds Kafka. `kafka.host`, `kafka.port`, `kafka.controller.port` and `kafka.home` also"
                  + " configure the broker that `llm-streams kafka start` runs. Any key under `"
                  + AppConfig.CLIENT_PREFIX
                  + "` (not listed: Kafka's own client settings) is passed to every Kafka client the app makes, e.g. `"
                  + AppConfig.CLIENT_PREFIX
                  + "security.protocol`."),
          new Section(
              "http.",
              "HTTP server (`http.`)",
              "`/metrics`, `/health`, `/ready` and the interactive queries."),
          new Section(
              "topics.",
              "Topics (`topics.`)",
              "How the catalog topics ([topics.md](topics.md)) are created and named."),
          new Section(
              "gateway.", "LLM gateway (`gateway.`)", "The pattern that calls the LLM providers."),
          new Section(
              "llm.",
              "LLM providers (`llm.`)",
              "Which provider answers each purpose, and how the gateway calls it (retries, circuit breaker, cache)."),
          new Section(
              "prompts.",
              "Prompts (`prompts.`)",
              "The system prompts and templates of the LLM requests, and how to replace them"
                  + " ([prompts.md](prompts.md))."),
          new Section(
              "controller.",
              "Controller (`controller.`)",
              "Goals run as guarded tool-calling loops."),
          new Section(
              "tools.",
              "Tools (`tools.`)",
              "The tool workers, which run the controller's tool calls."),
          new Section(
              "mcp.",
              "MCP (`mcp.`)",
              "The MCP servers whose tools goals may call (`mcp.dir`), and llm-streams' own MCP server: `/mcp` on"
                  + " the HTTP server and `llm-streams mcp --stdio` ([tools.md](tools.md#llm-streams-as-an-mcp-server))."),
          new Section(
              "summarizer.",
              "Summarizer (`summarizer.`)",
              "Documents chunked, summarized and merged per key."),
          new Section(
              "specialist.",
              "Specialist (`specialist.`)",
              "A small model labels events inline and escalates to an LLM when unsure; it retrains from labels."
                  + " A model is served only if it matches its digest and, with"
                  + " `specialist.models.verify.key.file`, carries a signature by a trusted key"
                  + " ([specialist.md](specialist.md#trusted-models))."));

  /** The configuration page of the app's own definition. */
  public static String configuration() {
    return configuration(AppConfig.DEFINITION);
  }

  /** The configuration page of {@code definition}: one table row per key, grouped by prefix. */
  public static String configuration(ConfigDef definition) {
    Map<String, ConfigDef.ConfigKey> keys = new TreeMap<>(definition.configKeys());
    StringBuilder sb = new StringBuilder("# Configuration\n\n");
    sb.append(generatedLine("`AppConfig.DEFINITION`", REGENERATE)).append('\n');
    sb.append(
        """
        Every key has a default. A value is read from these places, each overriding the ones before it:

        1. the default below;
        2. the properties file named by `--config FILE` (every command takes it);
        3. an environment variable: `%1$s` followed by the key in upper case, dots turned to underscores \
        (`http.port` is read from `%1$sHTTP_PORT`); `%2$s`, if set, wins over `%1$sKAFKA_BOOTSTRAP` for \
        `kafka.bootstrap`.

        Keys under `%3$s` are passed to every Kafka client (consumers, producers, admin clients of every pattern) \
        without the prefix, from the file or the environment alike (`%1$sKAFKA_CLIENT_SECURITY_PROTOCOL=SASL_SSL`). \
        Commands (`produce`, `tail`, `topics`, `train --publish`, ...) wait %4$d s for a broker that does not answer \
        unless `%3$sdefault.api.timeout.ms` (readers, admin) or `%3$smax.block.ms` (writers) says otherwise; their \
        writes are always `acks=all` and idempotent. Any other key the app does not know, in the file or as a `%1$s` variable, is refused at start with the known \
        keys near it; so is a value of the wrong type or out of range, with the key named. `log.level` takes effect \
        from its environment variable only (the logging configuration reads it at start).

        Columns: the key and its environment variable; the type; the default (*empty*: the empty string or list; \
        *none*: no value); the values it accepts (`[a,...,b]`: a range, `[a,...]`: at least `a`); how much it \
        matters; what it does.

        """
            .formatted(
                AppConfig.ENV_PREFIX,
                AppConfig.BOOTSTRAP_ENV,
                AppConfig.CLIENT_PREFIX,
                Clients.COMMAND_TIMEOUT_MS / 1000));

    // Per-provider keys: llm.<provider>.<setting>, the same settings for every provider.
    Map<String, Map<String, ConfigDef.ConfigKey>> perProvider = new TreeMap<>();
    for (String provider : AppConfig.PROVIDERS) {
      String prefix = AppConfig.provider(provider, "");
      keys.forEach(
          (name, key) -> {
            if (name.startsWith(prefix)) {
              perProvider
                  .computeIfAbsent(name.substring(prefix.length()), s -> new LinkedHashMap<>())
                  .put(provider, key);
            }
          });
    }
    perProvider
        .values()
        .removeIf(byProvider -> !byProvider.keySet().containsAll(AppConfig.PROVIDERS));
    perProvider
        .values()
        .forEach(byProvider -> byProvider.values().forEach(k -> keys.remove(k.name)));

    Map<Section, List<ConfigDef.ConfigKey>> grouped = new LinkedHashMap<>();
    Section general =
        new Section("", "General", "Patterns, Kafka Streams and the state on this instance.");
    grouped.put(general, new ArrayList<>());
    SECTIONS.forEach(s -> grouped.put(s, new ArrayList<>()));
    for (ConfigDef.ConfigKey key : keys.values()) {
      Section section =
          SECTIONS.stream()
              .filter(s -> key.name.startsWith(s.prefix()))
              .findFirst()
              .orElse(general);
      grouped.get(section).add(key);
    }
    grouped.forEach(
        (section, list) -> {
          if (list.isEmpty() && !(section.prefix().equals("llm.") && !perProvider.isEmpty())) {
            return;
          }
          sb.append("## ")
              .append(section.title())
              .append("\n\n")
              .append(section.intro())
              .append("\n\n");
          if (!list.isEmpty()) {
            sb.append("| key | type | default | valid values | importance | description |\n");
            sb.append("|---|---|---|---|---|---|\n");
            for (ConfigDef.ConfigKey key : list) {
              sb.append("| ")
                  .append(keyCell(key.name))
                  .append(" | ")
                  .append(type(key))
                  .append(" | ")
                  .append(defaultValue(key))
                  .append(" | ")
                  .append(validValues(key))
                  .append(" | ")
                  .append(importance(key))
                  .append(" | ")
                  .append(cell(key.documentation))
                  .append(" |\n");
            }
            sb.append('\n');
          }
          if (section.prefix().equals("llm.") && !perProvider.isEmpty()) {
            providerTable(sb, perProvider);
          }
        });
    return finish(sb);
  }

  private static void providerTable(
      StringBuilder sb, Map<String, Map<String, ConfigDef.ConfigKey>> perProvider) {
    String placeholder = "<provider>";
    sb.append("### Per-provider keys (`")
        .append(AppConfig.provider(placeholder, ""))
        .append("*`)\n\n");
    sb.append("Each provider (")
        .append(
            AppConfig.PROVIDERS.stream().map(p -> "`" + p + "`").collect(Collectors.joining(", ")))
        .append(") has the same keys, with its name in place of `")
        .append(placeholder)
        .append("` (`")
        .append(AppConfig.provider(AppConfig.PROVIDERS.get(0), "model"))
        .append("`, environment `")
        .append(envVar(AppConfig.provider(AppConfig.PROVIDERS.get(0), "model")))
        .append("`).\n\n");
    sb.append("| key | type | ");
    AppConfig.PROVIDERS.forEach(p -> sb.append("default: ").append(p).append(" | "));
    sb.append("valid values | importance | description |\n|---|---|");
    AppConfig.PROVIDERS.forEach(p -> sb.append("---|"));
    sb.append("---|---|---|\n");
    perProvider.forEach(
        (setting, byProvider) -> {
          ConfigDef.ConfigKey first = byProvider.get(AppConfig.PROVIDERS.get(0));
          sb.append("| ")
              .append(keyCell(AppConfig.provider(placeholder, setting)))
              .append(" | ")
              .append(type(first))
              .append(" | ");
          AppConfig.PROVIDERS.forEach(
              p -> sb.append(defaultValue(byProvider.get(p))).append(" | "));
          // The settings are alike but for the provider's name: say it once, with the placeholder.
          Set<String> valid = new LinkedHashSet<>();
          Set<String> importance = new LinkedHashSet<>();
          Map<String, String> docs = new LinkedHashMap<>();
          byProvider.forEach(
              (p, key) -> {
                valid.add(validValues(key));
                importance.add(importance(key));
                docs.put(
                    p,
                    String.valueOf(key.documentation)
                        .replace("llm." + p + ".", "llm." + placeholder + ".")
                        .replace(" " + p + " ", " " + placeholder + " ")
                        .replace(
                            p.toUpperCase(Locale.ROOT) + "_",
                            placeholder.toUpperCase(Locale.ROOT) + "_"));
              });
          sb.append(String.join("; ", valid))
              .append(" | ")
              .append(String.join("; ", importance))
              .append(" | ")
              .append(cell(merged(docs)))
              .append(" |\n");
        });
    sb.append('\n');
  }

  /**
   * One text for texts that differ only in a part (a provider's default, its variable): the common
   * start and end once, the differing words as {@code a (openai), b (anthropic)}.
   */
  static String merged(Map<String, String> byProvider) {
    List<String> texts = new ArrayList<>(byProvider.values());
    if (new LinkedHashSet<>(texts).size() == 1) {
      return texts.get(0);
    }
    String first = texts.get(0);
    int shortest = texts.stream().mapToInt(String::length).min().orElse(0);
    int start = 0;
    while (start < shortest && sameAt(texts, start, false)) {
      start++;
    }
    int end = 0;
    while (end < shortest - start && sameAt(texts, end, true)) {
      end++;
    }
    // Whole words only: back off to the nearest character that is not a letter or a digit.
    while (start > 0 && Character.isLetterOrDigit(first.charAt(start - 1))) {
      start--;
    }
    while (end > 0 && Character.isLetterOrDigit(first.charAt(first.length() - end))) {
      end--;
    }
    int s = start;
    int e = end;
    String middle =
        byProvider.entrySet().stream()
            .map(
                en ->
                    en.getValue().substring(s, en.getValue().length() - e)
                        + " ("
                        + en.getKey()
                        + ")")
            .collect(Collectors.joining(", "));
    return first.substring(0, start) + middle + first.substring(first.length() - end);
  }

  /**
   * Whether the texts have the same character {@code index} from their start (or, {@code fromEnd},
   * their end).
   */
  private static boolean sameAt(List<String> texts, int index, boolean fromEnd) {
    return texts.stream()
            .mapToInt(t -> t.charAt(fromEnd ? t.length() - 1 - index : index))
            .distinct()
            .count()
        == 1;
  }

  private static String keyCell(String key) {
    return code(key) + "<br>" + code(envVar(key));
  }

  /** Text as a code span in a table cell: only the pipe needs escaping there. */
  static String code(String text) {
    return "`" + text.replace("|", "\\|").replace("\n", " ") + "`";
  }

  private static String envVar(String key) {
    return AppConfig.ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_');
  }

  private static String type(ConfigDef.ConfigKey key) {
    return key.type.name().toLowerCase(Locale.ROOT);
  }

  private static String importance(ConfigDef.ConfigKey key) {
    return key.importance == null ? "" : key.importance.name().toLowerCase(Locale.ROOT);
  }

  static String defaultValue(ConfigDef.ConfigKey key) {
    if (!key.hasDefault()) {
      return "*required*";
    }
    Object value = key.defaultValue;
    if (value == null) {
      return "*none*";
    }
    String text = ConfigDef.convertToString(value, key.type);
    if (text == null || text.isEmpty()) {
      return "*empty*";
    }
    String rendered = code(text);
    if ((key.type == ConfigDef.Type.LONG || key.type == ConfigDef.Type.INT)
        && key.name.endsWith(".ms")) {
      String duration = duration(((Number) value).longValue());
      if (duration != null) {
        rendered += " (" + duration + ")";
      }
    }
    return rendered;
  }

  /** A validator's own description, when it has one (not an anonymous class or a lambda). */
  static String validValues(ConfigDef.ConfigKey key) {
    ConfigDef.Validator validator = key.validator;
    if (validator == null) {
      return "";
    }
    try {
      if (validator.getClass().getMethod("toString").getDeclaringClass() == Object.class) {
        return "see description";
      }
    } catch (NoSuchMethodException e) {
      throw new IllegalStateException(e);
    }
    String text = validator.toString();
    // ValidString.in("", ...) reads "[, a, b]": name the empty string.
    text = text.replace("[, ", "[\"\", ");
    return code(text);
  }

  /** Milliseconds as the largest whole unit, or null when there is none worth saying. */
  private static String duration(long ms) {
    long[] units = {86_400_000L, 3_600_000L, 60_000L, 1_000L};
    String[] names = {"d", "h", "min", "s"};
    if (ms <= 0) {
      return null;
    }
    for (int i = 0; i < units.length; i++) {
      if (ms >= units[i] && ms % units[i] == 0) {
        return String.format(Locale.ROOT, "%,d %s", ms / units[i], names[i]);
      }
    }
    return null;
  }

  /** Text safe inside a Markdown table cell. */
  static String cell(String text) {
    if (text == null) {
      return "";
    }
    return text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("*", "\\*")
        .replace("\r", "")
        .replace("\n", " ")
        .strip();
  }

  // ------------------------------------------------------------------------------------------------ topologies

  /**
   * The flows of every pattern of this build, with the default configuration (see {@link Flows}).
   */
  static List<Flow> flows(TopicCatalog catalog) {
    return Flows.of(catalog, AppConfig.of(Map.of()), AppConfig.ALL_PATTERNS);
  }

  // ------------------------------------------------------------------------------------------------ topics

  /** The topics page of the shipped catalog. */
  public static String topics() {
    TopicCatalog catalog = TopicCatalog.load();
    return topics(catalog, flows(catalog));
  }

  static String topics(TopicCatalog catalog, List<Flow> flows) {
    StringBuilder sb = new StringBuilder("# Topics\n\n");
    sb.append(
            generatedLine(
                "the topic catalog (`topics/*.json`) and the patterns' topologies", REGENERATE))
        .append('\n');
    sb.append(
        """
        The catalog lists every topic the app reads or writes: one file per topic in \
        [`topics/`](../topics) (shipped inside the jar), each value described by a JSON Schema (draft 2020-12) in \
        [`topics/schemas/`](../topics/schemas) and carried by one Java record of `dev.llmstreams.events`. Code names \
        topics by role, never by name. `llm-streams topics apply` creates the missing ones as declared here \
        (`llm-streams topics list` prints the table below); `%1$s` puts a prefix before every name. A tool defined \
        in `%2$s` gets a `tool-calls.<tool>` topic shaped like the shipped ones. Internal topics of Kafka Streams \
        (changelogs, repartition topics) are named after each pattern's application id and are not in the catalog.

        """
            .formatted(AppConfig.TOPICS_PREFIX, AppConfig.TOOLS_DIR));
    sb.append(TopicsCommand.markdownTable(catalog, "../topics/")).append('\n');

    Map<String, List<String>> groups = coPartitionGroups(catalog);
    if (!groups.isEmpty()) {
      sb.append("## Co-partitioned topics\n\n");
      sb.append(
          "Topics a pattern meets by key in one processor. As shipped, each group is declared with one"
              + " partition count; a record that arrives on another partition than its key's is re-routed (see"
              + " [any-producer.md](any-producer.md)).\n\n");
      groups.forEach(
          (group, topics) ->
              sb.append("- ")
                  .append(group)
                  .append(": ")
                  .append(topics.stream().map(t -> "`" + t + "`").collect(Collectors.joining(", ")))
                  .append('\n'));
      sb.append('\n');
    }

    sb.append("## Each topic\n\n");
    for (TopicSpec t : catalog.all()) {
      sb.append("### `").append(t.name()).append("`\n\n");
      sb.append("- role: `").append(t.role()).append('`');
      if (t.tool() != null) {
        sb.append(", tool `").append(t.tool()).append('`');
      }
      sb.append('\n');
      sb.append("- partitions: ")
          .append(t.partitions())
          .append("; replication factor: ")
          .append(
              t.replicationFactor() == null
                  ? "`" + AppConfig.TOPICS_REPLICATION_FACTOR + "` (default: the broker's)"
                  : t.replicationFactor().toString())
          .append('\n');
      if (!t.configs().isEmpty()) {
        sb.append("- configs: ")
            .append(
                new TreeMap<>(t.configs())
                    .entrySet().stream()
                        .map(
                            e ->
                                "`"
                                    + e.getKey()
                                    + "="
                                    + e.getValue()
                                    + "`"
                                    + topicConfigHint(e.getKey(), e.getValue()))
                        .collect(Collectors.joining(", ")))
            .append('\n');
      }
      sb.append("- key: ").append(cell(t.key())).append('\n');
      if (t.keyField() != null) {
        sb.append("- key field of the value: `").append(t.keyField()).append("`\n");
      }
      sb.append("- value: ")
          .append(
              t.valueSchema() == null
                  ? "raw bytes"
                  : "[`"
                      + t.valueSchema()
                      + "`](../topics/"
                      + t.valueSchema()
                      + ")"
                      + (t.valueType() == null ? "" : ", `" + t.valueType() + "`"))
          .append('\n');
      List<String> partners = new ArrayList<>();
      groups.forEach(
          (group, topics) -> {
            if (topics.contains(t.name())) {
              topics.stream().filter(o -> !o.equals(t.name())).forEach(partners::add);
            }
          });
      if (!partners.isEmpty()) {
        sb.append("- co-partitioned with: ")
            .append(
                partners.stream()
                    .distinct()
                    .sorted()
                    .map(o -> "`" + o + "`")
                    .collect(Collectors.joining(", ")))
            .append('\n');
      }
      sb.append("- read by: ")
          .append(patterns(flows, f -> f.reads().contains(t.name()), "no pattern (an output)"))
          .append('\n');
      List<String> writers = new ArrayList<>();
      flows.stream()
          .filter(f -> f.writes().contains(t.name()))
          .forEach(f -> writers.add(f.pattern()));
      List<String> handlers =
          flows.stream().filter(f -> t.name().equals(f.deadLetters())).map(Flow::pattern).toList();
      if (!handlers.isEmpty()) {
        writers.add(
            handlers.size() == flows.size()
                ? "the error handlers of every pattern"
                : "the error handlers of " + String.join(", ", handlers));
      }
      sb.append("- written by: ")
          .append(writers.isEmpty() ? "no pattern (an input)" : String.join(", ", writers))
          .append('\n');
      sb.append('\n');
    }
    return finish(sb);
  }

  private static String patterns(List<Flow> flows, Predicate<Flow> which, String none) {
    String names =
        flows.stream().filter(which).map(Flow::pattern).collect(Collectors.joining(", "));
    return names.isEmpty() ? none : names;
  }

  private static String topicConfigHint(String key, String value) {
    try {
      long n = Long.parseLong(value);
      if (key.equals(TopicConfig.RETENTION_MS_CONFIG)) {
        return n < 0 ? " (forever)" : duration(n) == null ? "" : " (" + duration(n) + ")";
      }
      if (key.equals(TopicConfig.MAX_MESSAGE_BYTES_CONFIG) && n % (1024 * 1024) == 0) {
        return " (" + n / (1024 * 1024) + " MiB)";
      }
    } catch (NumberFormatException e) {
      // not a number: nothing to add
    }
    return "";
  }

  /**
   * The catalog's co-partition groups ({@code TopicCatalog.*_CO_PARTITIONED}), by the pattern that
   * joins them.
   */
  static Map<String, List<String>> coPartitionGroups(TopicCatalog catalog) {
    Map<String, List<String>> groups = new TreeMap<>();
    for (Field field : TopicCatalog.class.getFields()) {
      if (Modifier.isStatic(field.getModifiers()) && field.getName().endsWith("_CO_PARTITIONED")) {
        try {
          List<?> roles = (List<?>) field.get(null);
          groups.put(
              field
                  .getName()
                  .substring(0, field.getName().length() - "_CO_PARTITIONED".length())
                  .toLowerCase(Locale.ROOT),
              roles.stream().map(r -> catalog.spec((TopicRole) r).name()).toList());
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return groups;
  }

  // ------------------------------------------------------------------------------------------------ command line

  /**
   * The command line page: the usage help of every command, with built-in defaults and a fixed
   * width.
   */
  public static String cli() {
    CommandLine root = Main.commandLine(KafkaCommand.Defaults.builtIn());
    root.setUsageHelpWidth(120);
    root.setUsageHelpAutoWidth(false);
    List<CommandLine> commands = new ArrayList<>();
    collect(root, commands);
    StringBuilder sb = new StringBuilder("# Command line\n\n");
    sb.append(generatedLine("the picocli commands of `dev.llmstreams.app.Main`", REGENERATE))
        .append('\n');
    sb.append(
        "`bin/llm-streams` (or `java -jar target/llm-streams.jar`) runs these commands; `--config FILE` is"
            + " accepted by every one (see [configuration.md](configuration.md)). The defaults below are the built-in ones;"
            + " the `kafka` commands' `--help` shows those of the configuration in effect.\n\n");
    for (CommandLine command : commands) {
      String name = command.getCommandSpec().qualifiedName(" ");
      sb.append("- [`").append(name).append("`](#").append(name.replace(' ', '-')).append(")\n");
    }
    sb.append('\n');
    for (CommandLine command : commands) {
      sb.append("## ")
          .append(command.getCommandSpec().qualifiedName(" "))
          .append("\n\n```text\n")
          .append(command.getUsageMessage(CommandLine.Help.Ansi.OFF).stripTrailing())
          .append("\n```\n\n");
    }
    return finish(sb);
  }

  private static void collect(CommandLine command, List<CommandLine> out) {
    out.add(command);
    command
        .getSubcommands()
        .forEach(
            (name, sub) -> {
              // Aliases map to the same command: list it once, under its name.
              if (name.equals(sub.getCommandName())
                  && !sub.getCommandSpec().usageMessage().hidden()) {
                collect(sub, out);
              }
            });
  }

  // ------------------------------------------------------------------------------------------------ architecture

  /**
   * {@code docs/architecture.md} with its generated section replaced; {@code current} null: a new
   * page.
   */
  public static String architecture(String current) {
    String page =
        current != null
            ? current
            : """
        # Architecture

        TODO Package layers: written by hand

        ## Topology

        %s
        %s
        """
                .formatted(TOPOLOGY_BEGIN, TOPOLOGY_END);
    return replaceSection(ARCHITECTURE, page, TOPOLOGY_BEGIN, TOPOLOGY_END, topologySection());
  }

  /** {@code current} (the security page) with its ACL section generated again. */
  public static String security(String current) {
    return replaceSection(SECURITY, current, ACLS_BEGIN, ACLS_END, aclsSection());
  }

  /** {@code page} (the file {@code file}) with {@code content} between its two markers. */
  private static String replaceSection(
      String file, String page, String beginMarker, String endMarker, String content) {
    int begin = page.indexOf(beginMarker);
    int end = page.indexOf(endMarker);
    if (begin < 0 || end < begin) {
      throw new IllegalArgumentException(
          file + " has no section between " + beginMarker + " and " + endMarker);
    }
    return page.substring(0, begin + beginMarker.length()) + "\n" + content + page.substring(end);
  }

  /** The text between two markers of {@code page} (null when it has none). */
  private static String sectionOf(String page, String beginMarker, String endMarker) {
    int begin = page.indexOf(beginMarker);
    int end = page.indexOf(endMarker);
    return begin < 0 || end < begin ? null : page.substring(begin + beginMarker.length() + 1, end);
  }

  /** {@code current} (the prompts page) with its table of prompts generated again. */
  public static String prompts(String current) {
    return replaceSection(PROMPTS, current, PROMPTS_BEGIN, PROMPTS_END, promptsSection());
  }

  /** The table of prompts between the markers of {@code page} (null when it has none). */
  public static String promptsSectionOf(String page) {
    return sectionOf(page, PROMPTS_BEGIN, PROMPTS_END);
  }

  /**
   * Every prompt the app knows ({@link Prompts#SPECS}), with its shipped file and that file's
   * version.
   */
  public static String promptsSection() {
    Prompts shipped = Prompts.load("");
    StringBuilder sb =
        new StringBuilder(
            generatedLine("`Prompts.SPECS` and the shipped prompt files", REGENERATE));
    sb.append('\n')
        .append(
            "| id (shipped file) | purpose of its requests | what it is | placeholders | shipped version |\n")
        .append("|---|---|---|---|---|\n");
    for (Prompts.Spec spec : Prompts.SPECS) {
      List<String> placeholders = new ArrayList<>();
      spec.placeholders()
          .forEach((name, what) -> placeholders.add(code("{{" + name + "}}") + ": " + cell(what)));
      sb.append("| [")
          .append(code(spec.id()))
          .append("](../src/main/resources/")
          .append(Prompts.SHIPPED_FOLDER)
          .append('/')
          .append(spec.id())
          .append(".md) | ")
          .append(code(spec.purpose()))
          .append(" | ")
          .append(cell(spec.use()))
          .append(" | ")
          .append(placeholders.isEmpty() ? "none" : String.join("<br>", placeholders))
          .append(" | ")
          .append(code(shipped.get(spec.id()).version()))
          .append(" |\n");
    }
    return sb.toString();
  }

  /** The ACL section between the markers of {@code page} (null when it has none). */
  public static String aclsSectionOf(String page) {
    return sectionOf(page, ACLS_BEGIN, ACLS_END);
  }

  /** What {@code acls --format table} prints with the default configuration. */
  public static String aclsSection() {
    AppConfig config = AppConfig.of(Map.of());
    AclPlan plan = AclPlan.of(TopicCatalog.load(), config, AclPlan.defaultPrincipals(config));
    return generatedLine("the `acls` command's plan with the default configuration", REGENERATE)
        + "\n"
        + plan.table(java.util.EnumSet.allOf(AclPlan.Role.class));
  }

  /** The text between the markers of {@code page} (null when it has none). */
  public static String topologySectionOf(String page) {
    return sectionOf(page, TOPOLOGY_BEGIN, TOPOLOGY_END);
  }

  /** The generated topology section of the shipped catalog: a Mermaid flowchart and a table. */
  public static String topologySection() {
    TopicCatalog catalog = TopicCatalog.load();
    return topologySection(catalog, flows(catalog));
  }

  static String topologySection(TopicCatalog catalog, List<Flow> flows) {
    Set<String> written = new TreeSet<>();
    Set<String> read = new TreeSet<>();
    flows.forEach(
        f -> {
          written.addAll(f.writes());
          read.addAll(f.reads());
          if (f.deadLetters() != null) {
            written.add(f.deadLetters());
          }
        });
    StringBuilder sb = new StringBuilder();
    sb.append(
            generatedLine(
                "each pattern's topology (`describe()`) and the topic catalog", REGENERATE))
        .append('\n');
    sb.append(
        "Every pattern runs as its own Kafka Streams application, `<application.id>-<pattern>`, on the topics of"
            + " the catalog ([topics.md](topics.md)). Arrows: a pattern reads a topic (topic → pattern) or writes it"
            + " (pattern → topic); dotted: records that fail are written to the dead-letter topic by the pattern's"
            + " error handlers. Inputs no pattern writes come from outside producers, outputs no pattern reads go to"
            + " outside consumers. Internal topics (changelogs, repartition topics) are left out.\n\n");
    sb.append("```mermaid\nflowchart LR\n");
    Map<String, String> ids = new TreeMap<>();
    for (String topic : catalog.names()) {
      String id = "t_" + topic.replaceAll("[^A-Za-z0-9]", "_");
      if (ids.containsValue(id)) {
        throw new IllegalStateException("two topics make the same diagram id " + id);
      }
      ids.put(topic, id);
    }
    sb.append("  producers([outside producers])\n");
    flows.forEach(
        f -> sb.append("  p_").append(f.pattern()).append("[[").append(f.pattern()).append("]]\n"));
    ids.forEach(
        (topic, id) -> sb.append("  ").append(id).append("[(\"").append(topic).append("\")]\n"));
    Map<String, String> dynamicIds = new TreeMap<>();
    flows.forEach(
        f ->
            f.dynamicSinks()
                .forEach(s -> dynamicIds.put(s, "d_" + s.replaceAll("[^A-Za-z0-9]", "_"))));
    dynamicIds.forEach(
        (sink, id) ->
            sb.append("  ")
                .append(id)
                .append("[/\"")
                .append(DYNAMIC_SINKS.getOrDefault(sink, "topic chosen per record by " + sink))
                .append("\"/]\n"));
    sb.append("  consumers([outside consumers])\n");
    for (String topic : catalog.names()) {
      if (!written.contains(topic)) {
        sb.append("  producers --> ").append(ids.get(topic)).append('\n');
      }
    }
    for (Flow f : flows) {
      String p = "p_" + f.pattern();
      f.reads()
          .forEach(t -> sb.append("  ").append(ids.get(t)).append(" --> ").append(p).append('\n'));
      f.writes()
          .forEach(t -> sb.append("  ").append(p).append(" --> ").append(ids.get(t)).append('\n'));
      f.dynamicSinks()
          .forEach(
              s ->
                  sb.append("  ").append(p).append(" --> ").append(dynamicIds.get(s)).append('\n'));
      if (f.deadLetters() != null) {
        sb.append("  ").append(p).append(" -.-> ").append(ids.get(f.deadLetters())).append('\n');
      }
    }
    for (String topic : catalog.names()) {
      if (!read.contains(topic)) {
        sb.append("  ").append(ids.get(topic)).append(" --> consumers\n");
      }
    }
    sb.append("```\n\n");
    sb.append("| pattern | reads | writes |\n|---|---|---|\n");
    for (Flow f : flows) {
      List<String> writes = new ArrayList<>(f.writes().stream().map(t -> "`" + t + "`").toList());
      f.dynamicSinks()
          .forEach(
              s ->
                  writes.add(
                      cell(DYNAMIC_SINKS.getOrDefault(s, "topic chosen per record by " + s))));
      if (f.deadLetters() != null) {
        writes.add("`" + f.deadLetters() + "` (failed records)");
      }
      sb.append("| ")
          .append(f.pattern())
          .append(" | ")
          .append(f.reads().stream().map(t -> "`" + t + "`").collect(Collectors.joining(", ")))
          .append(" | ")
          .append(String.join(", ", writes))
          .append(" |\n");
    }
    return finish(sb);
  }

  // ------------------------------------------------------------------------------------------------ meters

  /**
   * The meters page: every {@code llmstreams.*} meter of {@code registry} (a running app's), by
   * name, with the series Prometheus scrapes; tag keys only, never values. Fails on a meter without
   * a description.
   */
  public static String meters(PrometheusMeterRegistry registry) {
    Map<String, List<Meter.Id>> byName = new TreeMap<>();
    registry.getMeters().stream()
        .map(Meter::getId)
        .filter(id -> id.getName().startsWith("llmstreams."))
        .forEach(id -> byName.computeIfAbsent(id.getName(), n -> new ArrayList<>()).add(id));
    List<String> undescribed =
        byName.entrySet().stream()
            .filter(
                e ->
                    e.getValue().stream()
                        .anyMatch(
                            id -> id.getDescription() == null || id.getDescription().isBlank()))
            .map(Map.Entry::getKey)
            .toList();
    if (!undescribed.isEmpty()) {
      throw new IllegalStateException(
          "meters without a description (add .description(...) where they are built): "
              + undescribed);
    }
    Map<String, String> familyTypes = new TreeMap<>();
    Map<String, Set<String>> samples = new TreeMap<>();
    String family = null;
    for (String line : registry.scrape().split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        family = parts[2];
        familyTypes.put(family, parts[3]);
      } else if (!line.isBlank() && !line.startsWith("#") && family != null) {
        int cut = line.indexOf('{') >= 0 ? line.indexOf('{') : line.indexOf(' ');
        samples.computeIfAbsent(family, f -> new TreeSet<>()).add(line.substring(0, cut));
      }
    }

    StringBuilder sb = new StringBuilder("# Meters\n\n");
    sb.append(
            generatedLine(
                "the meter registry of the app running every pattern with traffic (`PrometheusIT`)",
                REGENERATE_METERS))
        .append('\n');
    sb.append(
        """
        `/metrics` serves the app's meters in the Prometheus text format. The app's own are named `llmstreams.*` \
        (Micrometer's name; Prometheus gets it in snake case with its unit and `_total` for counters). Tags are \
        listed by key; their values depend on the traffic (topics, providers, tools, labels). Series with a fixed \
        set of tag values start at 0; the others appear with their first event. The page is made by `PrometheusIT` \
        (it needs `prometheus` on the PATH), from the app it runs with traffic through every pattern.

        """);
    Map<String, Map<String, List<Meter.Id>>> sections = new LinkedHashMap<>();
    for (String group : List.of("llm", "controller", "tools", "summarizer", "specialist")) {
      sections.put(group, new TreeMap<>());
    }
    sections.put("", new TreeMap<>());
    byName.forEach(
        (name, ids) -> {
          String group = name.split("\\.")[1];
          sections.getOrDefault(group, sections.get("")).put(name, ids);
        });
    Map<String, String> titles =
        Map.of(
            "llm",
            "LLM gateway (`llmstreams.llm.`)",
            "controller",
            "Controller (`llmstreams.controller.`)",
            "tools",
            "Tools (`llmstreams.tools.`)",
            "summarizer",
            "Summarizer (`llmstreams.summarizer.`)",
            "specialist",
            "Specialist (`llmstreams.specialist.`)",
            "",
            "Every pattern (records, state, stream threads)");
    sections.forEach(
        (group, meters) -> {
          if (meters.isEmpty()) {
            return;
          }
          sb.append("## ").append(titles.get(group)).append("\n\n");
          sb.append(
              "| meter | Prometheus series | type | unit | tags | description |\n|---|---|---|---|---|---|\n");
          meters.forEach(
              (name, ids) -> {
                Meter.Id id = ids.get(0);
                String base = id.getConventionName(registry.config().namingConvention());
                Set<String> series = new TreeSet<>();
                String promType = null;
                for (String f : List.of(base, base + "_total", base + "_max")) {
                  if (samples.containsKey(f)) {
                    series.addAll(samples.get(f));
                  }
                  if (!f.endsWith("_max") && familyTypes.containsKey(f)) {
                    promType = familyTypes.get(f);
                  }
                }
                if (series.isEmpty()) {
                  throw new IllegalStateException(
                      "meter " + name + " is not in the scrape as " + base);
                }
                boolean summary = "summary".equals(promType);
                String seriesText =
                    series.stream()
                        .map(s -> "`" + s + (summary && s.equals(base) ? "{quantile}" : "") + "`")
                        .collect(Collectors.joining("<br>"));
                Set<String> tags = new TreeSet<>();
                ids.forEach(i -> i.getTags().forEach(t -> tags.add(t.getKey())));
                Set<String> descriptions = new TreeSet<>();
                ids.forEach(i -> descriptions.add(i.getDescription()));
                String type = id.getType().name().toLowerCase(Locale.ROOT).replace('_', ' ');
                sb.append("| `")
                    .append(name)
                    .append("` | ")
                    .append(seriesText)
                    .append(" | ")
                    .append(type)
                    .append(promType == null || promType.equals(type) ? "" : " (" + promType + ")")
                    .append(" | ")
                    .append(id.getBaseUnit() == null ? "" : id.getBaseUnit())
                    .append(" | ")
                    .append(tags.stream().map(t -> "`" + t + "`").collect(Collectors.joining(", ")))
                    .append(" | ")
                    .append(cell(String.join(" / ", descriptions)))
                    .append(" |\n");
              });
          sb.append('\n');
        });
    sb.append(
        """
        ## Also on `/metrics`

        Not generated: these come from Micrometer's binders and Kafka's own metrics, and change with the versions \
        of Kafka and Micrometer.

        - `kafka_stream_*`: Kafka Streams' own metrics of each pattern's instance: the client (state, stream \
        threads alive and failed) and its stream threads (commit, poll, process and punctuate rates and latencies), \
        tagged `pattern`, `client_id`, `thread_id`.
        - `kafka_consumer_*`, `kafka_producer_*`, `kafka_admin_client_*`, `kafka_app_*`: the Kafka clients inside \
        each instance (fetch and send rates, lag, request latencies, versions), tagged `pattern` and `client_id`.
        - `jvm_*`: memory pools and buffers, garbage collection, threads, classes loaded.
        - `process_*` and `system_*`: CPU use of the process and the machine, load average, uptime, start time.
        """);
    return finish(sb);
  }

  // ------------------------------------------------------------------------------------------------ common

  /**
   * One newline at the end, no trailing blanks on any line (editors strip them; the comparison must
   * not care).
   */
  private static String finish(CharSequence text) {
    String out =
        text.toString().lines().map(String::stripTrailing).collect(Collectors.joining("\n"));
    return out.strip() + "\n";
  }
}
