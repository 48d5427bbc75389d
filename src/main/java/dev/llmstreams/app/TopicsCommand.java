package dev.llmstreams.app;

import dev.llmstreams.config.AppConfig;
import dev.llmstreams.topics.TopicAdmin;
import dev.llmstreams.topics.TopicCatalog;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "topics",
    mixinStandardHelpOptions = true,
    description = "Manage the topics of the catalog (topics/*.json).",
    subcommands = {TopicsCommand.Apply.class, TopicsCommand.ListTopics.class})
final class TopicsCommand implements Runnable {
  @ParentCommand Main main;

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  @Command(
      name = "apply",
      mixinStandardHelpOptions = true,
      description =
          "Create every catalog topic that is missing and report drift; never deletes or shrinks.")
  static final class Apply implements Callable<Integer> {
    @ParentCommand TopicsCommand topics;

    @Option(
        names = "--dry-run",
        description = "Only report what would be created and what drifted.")
    boolean dryRun;

    @Override
    public Integer call() throws Exception {
      AppConfig config = topics.main.config();
      List<TopicAdmin.Change> changes = apply(config, topics.main, dryRun);
      changes.forEach(System.out::println);
      long drift = changes.stream().filter(c -> c.action() == TopicAdmin.Action.DRIFT).count();
      System.out.printf(
          "%d topics in the catalog on %s; %d drifted%s%n",
          changes.size(),
          config.bootstrapServers(),
          drift,
          drift > 0 ? " (left as they are: fix by hand or recreate)" : "");
      return 0;
    }
  }

  static List<TopicAdmin.Change> apply(AppConfig config, Main main, boolean dryRun)
      throws Exception {
    try (Admin admin = Clients.admin(config)) {
      return new TopicAdmin(admin, config.getShort(AppConfig.TOPICS_REPLICATION_FACTOR))
          .apply(main.catalog().all(), dryRun);
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "Print the catalog as a Markdown table.")
  static final class ListTopics implements Runnable {
    @ParentCommand TopicsCommand topics;

    @Override
    public void run() {
      System.out.print(markdownTable(topics.main.catalog()));
    }
  }

  /** The catalog as a Markdown table, value schemas named by their path in the repository. */
  static String markdownTable(TopicCatalog catalog) {
    return markdownTable(catalog, null);
  }

  /**
   * The catalog as a Markdown table; with {@code linkToCatalog} (the {@code topics/} folder
   * relative to the page, e.g. {@code ../topics/}) each value schema is a link to its file.
   */
  static String markdownTable(TopicCatalog catalog, String linkToCatalog) {
    StringBuilder sb =
        new StringBuilder(
            "| topic | partitions | key | value schema | description |\n|---|---|---|---|---|\n");
    catalog
        .all()
        .forEach(
            t -> {
              String schema =
                  t.valueSchema() == null
                      ? "raw bytes"
                      : linkToCatalog == null
                          ? "`topics/" + t.valueSchema() + "`"
                          : "[`topics/"
                              + t.valueSchema()
                              + "`]("
                              + linkToCatalog
                              + t.valueSchema()
                              + ")";
              sb.append(
                  String.format(
                      "| `%s` | %d | %s | %s | %s |\n",
                      t.name(), t.partitions(), cell(t.key()), schema, cell(t.description())));
            });
    return sb.toString();
  }

  private static String cell(String text) {
    return text == null ? "" : text.replace("|", "\\|").replace('\n', ' ');
  }
}
