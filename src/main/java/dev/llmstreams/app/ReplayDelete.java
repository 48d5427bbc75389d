package dev.llmstreams.app;

import dev.llmstreams.bench.Progress;
import dev.llmstreams.config.AppConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code replay delete}: removes what replay runs left on the cluster, their topics under {@code
 * <topics.prefix>replay.<run>.}, the internal topics and consumer groups of their applications
 * ({@code <application.id>-replay-<run>-<pattern>}); never a production topic, and never the reply
 * cache the runs share.
 */
@Command(
    name = "delete",
    mixinStandardHelpOptions = true,
    description = {
      "Delete what replay runs left: their topics (<topics.prefix>replay.<run>.*), and the "
          + "internal topics and consumer groups of their applications "
          + "(<application.id>-replay-<run>-<pattern>). Production topics and the reply cache the "
          + "runs share (<topics.prefix>replay.reply-cache) are never touched."
    })
final class ReplayDelete implements Callable<Integer> {
  @ParentCommand ReplayCommand replay;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--run",
      required = true,
      split = ",",
      paramLabel = "RUN",
      description = "The runs to delete (their ids, as given to --run).")
  List<String> runs;

  @Option(names = "--dry-run", description = "Only list what would be deleted.")
  boolean dryRun;

  @Override
  public Integer call() throws Exception {
    AppConfig config = replay.main.config();
    Progress progress = new Progress(System.err, "replay");
    String prefix = config.getString(AppConfig.TOPICS_PREFIX) + "replay.";
    String appId = config.getString(AppConfig.APPLICATION_ID) + "-replay-";
    try (Admin admin = Clients.admin(config)) {
      Set<String> existing = admin.listTopics().names().get();
      Set<String> topics = new TreeSet<>();
      List<String> groups = new ArrayList<>();
      for (String run : runs) {
        ReplayCommand.runId(run, null); // the same rule as --run of a replay
        for (String pattern : Patterns.names()) {
          // The pattern's name after the run's keeps run r1 apart from a run named r1-x.
          String app = appId + run + "-" + pattern;
          groups.add(app);
          existing.stream().filter(t -> t.startsWith(app + "-")).forEach(topics::add);
        }
        existing.stream().filter(t -> t.startsWith(prefix + run + ".")).forEach(topics::add);
      }
      // The list is the command's output (one topic a line); progress goes to stderr.
      java.io.PrintWriter out = spec.commandLine().getOut();
      topics.forEach(t -> out.println((dryRun ? "would delete " : "deleting ") + t));
      out.flush();
      if (dryRun) {
        progress.say(
            "%,d topics of %,d runs (dry run: nothing deleted)", topics.size(), runs.size());
        return 0;
      }
      admin.deleteTopics(topics).all().get();
      int groupsDeleted = 0;
      for (var e : admin.deleteConsumerGroups(groups).deletedGroups().entrySet()) {
        try {
          e.getValue().get();
          groupsDeleted++;
        } catch (ExecutionException ex) {
          if (ex.getCause() instanceof GroupNotEmptyException) {
            throw new Main.UserError(
                "consumer group " + e.getKey() + " has members: is the run still going?");
          }
          if (!(ex.getCause() instanceof GroupIdNotFoundException)) {
            throw ex;
          }
        }
      }
      progress.say(
          "deleted %,d topics and %,d consumer groups of %,d runs",
          topics.size(), groupsDeleted, runs.size());
    }
    return 0;
  }
}
