package dev.llmstreams.controller;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.GoalResult;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.runtime.text.MarkdownTables;
import dev.llmstreams.runtime.tools.RecordedResults;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The report of {@code replay goals}: each recorded goal's result beside the result of its replay
 * under the candidate (status, answer, steps, tokens, cost, latency), how the replay's tool calls
 * were answered, and the LLM calls the replay made. Pure: the command reads the topics and hands
 * their values here.
 */
public final class GoalReplay {
  private GoalReplay() {}

  /** What one run of a goal came to: from its {@link GoalResult}. */
  public record Outcome(
      String status,
      String answer,
      String reason,
      int steps,
      long tokens,
      double costUsd,
      long durationMs) {
    public static Outcome of(GoalResult r) {
      return new Outcome(
          r.status().name().toLowerCase(Locale.ROOT),
          r.answer(),
          r.reason(),
          r.steps(),
          r.usage().totalTokens(),
          r.costUsd(),
          r.durationMs());
    }

    ObjectNode toJson() {
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      o.put("status", status);
      if (answer != null) {
        o.put("answer", answer);
      }
      if (reason != null) {
        o.put("reason", reason);
      }
      o.put("steps", steps);
      o.put("tokens", tokens);
      o.put("cost_usd", costUsd);
      o.put("duration_ms", durationMs);
      return o;
    }
  }

  /**
   * How a replay's tool calls were answered: from the original run's recorded results, run in the
   * replay (read-only tools), or not executed.
   */
  public record Tools(int recorded, int executed, int notExecuted) {
    public static final Tools NONE = new Tools(0, 0, 0);

    /** The replay's results of one goal's calls; a callId answered twice counts once. */
    public static Tools of(Collection<ToolResult> results) {
      Map<String, ToolResult> byCall = new LinkedHashMap<>();
      results.forEach(r -> byCall.putIfAbsent(r.callId(), r));
      int recorded = 0;
      int executed = 0;
      int notExecuted = 0;
      for (ToolResult r : byCall.values()) {
        if (RecordedResults.answeredFromRecord(r)) {
          recorded++;
        } else if (RecordedResults.notExecuted(r)) {
          notExecuted++;
        } else {
          executed++;
        }
      }
      return new Tools(recorded, executed, notExecuted);
    }

    Tools plus(Tools t) {
      return new Tools(recorded + t.recorded, executed + t.executed, notExecuted + t.notExecuted);
    }

    int calls() {
      return recorded + executed + notExecuted;
    }
  }

  /**
   * The replay's LLM replies for one goal: provider calls made (attempts, retries included),
   * replies served from the reply cache, and failed replies.
   */
  public record Llm(long replies, long providerCalls, long cached, long failed) {
    public static final Llm NONE = new Llm(0, 0, 0, 0);

    public static Llm of(Collection<LlmReply> replies) {
      Map<String, LlmReply> byRequest = new LinkedHashMap<>();
      replies.forEach(r -> byRequest.putIfAbsent(r.requestId(), r));
      long calls = 0;
      long cached = 0;
      long failed = 0;
      for (LlmReply r : byRequest.values()) {
        if (r.cached()) {
          cached++;
          continue;
        }
        if (r.error() != null) {
          failed++;
          calls += r.error().attempts();
        } else {
          calls += r.attempts() == null ? 1 : r.attempts();
        }
      }
      return new Llm(byRequest.size(), calls, cached, failed);
    }

    Llm plus(Llm l) {
      return new Llm(
          replies + l.replies,
          providerCalls + l.providerCalls,
          cached + l.cached,
          failed + l.failed);
    }
  }

  /**
   * One goal of the slice.
   *
   * @param original its recorded result; null when the original run has none (yet)
   * @param replay its result in the replay; null when the replay did not finish it in time
   */
  public record Item(String goalId, Outcome original, Outcome replay, Tools tools, Llm llm) {
    public boolean finished() {
      return replay != null;
    }

    /** Both ended and with the same status; null when either has no result. */
    public Boolean sameStatus() {
      return original == null || replay == null ? null : original.status().equals(replay.status());
    }

    /** Both ended and with the same answer (both without one counts as the same). */
    public Boolean sameAnswer() {
      return original == null || replay == null
          ? null
          : Objects.equals(original.answer(), replay.answer());
    }
  }

  public record Report(Map<String, String> candidate, long wallMs, List<Item> items) {
    public ObjectNode totals() {
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      List<Item> both =
          items.stream().filter(i -> i.original() != null && i.replay() != null).toList();
      o.put("goals", items.size());
      o.put("finished", items.stream().filter(Item::finished).count());
      o.put("with_original", items.stream().filter(i -> i.original() != null).count());
      o.put("compared", both.size());
      o.put("same_status", both.stream().filter(i -> i.sameStatus()).count());
      o.put("same_answer", both.stream().filter(i -> i.sameAnswer()).count());
      Map<String, Integer> changes = new TreeMap<>();
      both.stream()
          .filter(i -> !i.sameStatus())
          .forEach(
              i ->
                  changes.merge(
                      i.original().status() + " -> " + i.replay().status(), 1, Integer::sum));
      ObjectNode c = o.putObject("status_changes");
      changes.forEach(c::put);
      side(o, "original", both.stream().map(Item::original).toList());
      side(o, "replay", both.stream().map(Item::replay).toList());
      Tools tools = items.stream().map(Item::tools).reduce(Tools.NONE, Tools::plus);
      ObjectNode t = o.putObject("tool_calls");
      t.put("recorded", tools.recorded());
      t.put("executed_read_only", tools.executed());
      t.put("not_executed", tools.notExecuted());
      Llm llm = items.stream().map(Item::llm).reduce(Llm.NONE, Llm::plus);
      ObjectNode l = o.putObject("llm");
      l.put("replies", llm.replies());
      l.put("provider_calls", llm.providerCalls());
      l.put("cached", llm.cached());
      l.put("failed", llm.failed());
      o.put("wall_ms", wallMs);
      return o;
    }

    /** Sums and means of one side over the goals both runs finished. */
    private static void side(ObjectNode o, String name, List<Outcome> outcomes) {
      ObjectNode s = o.putObject(name);
      s.put("succeeded", outcomes.stream().filter(x -> x.status().equals("succeeded")).count());
      s.put("steps", outcomes.stream().mapToLong(Outcome::steps).sum());
      s.put("tokens", outcomes.stream().mapToLong(Outcome::tokens).sum());
      // A sum of many small prices: rounded to a 10^-10 dollar, below any price's precision.
      s.put(
          "cost_usd",
          Math.round(outcomes.stream().mapToDouble(Outcome::costUsd).sum() * 1e10) / 1e10);
      s.put(
          "mean_duration_ms",
          outcomes.isEmpty()
              ? 0
              : Math.round(outcomes.stream().mapToLong(Outcome::durationMs).average().orElse(0)));
    }

    public ObjectNode toJson() {
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      ObjectNode c = o.putObject("candidate");
      candidate.forEach(c::put);
      o.set("totals", totals());
      ArrayNode list = o.putArray("items");
      for (Item i : items) {
        ObjectNode n = list.addObject();
        n.put("goal_id", i.goalId());
        n.put("finished", i.finished());
        if (i.original() != null) {
          n.set("original", i.original().toJson());
        }
        if (i.replay() != null) {
          n.set("replay", i.replay().toJson());
        }
        if (i.sameStatus() != null) {
          n.put("same_status", i.sameStatus());
          n.put("same_answer", i.sameAnswer());
        }
        n.putObject("tool_calls")
            .put("recorded", i.tools().recorded())
            .put("executed_read_only", i.tools().executed())
            .put("not_executed", i.tools().notExecuted());
        n.putObject("llm")
            .put("replies", i.llm().replies())
            .put("provider_calls", i.llm().providerCalls())
            .put("cached", i.llm().cached())
            .put("failed", i.llm().failed());
      }
      return o;
    }

    /**
     * The totals, then a row per goal whose replay differs from the original (status or answer) or
     * did not finish, at most {@code rows}.
     */
    public String toMarkdown(int rows) {
      StringBuilder md = new StringBuilder("# Replay of goals: candidate ");
      md.append(candidate.isEmpty() ? "(as configured)" : candidate.toString()).append("\n\n");
      ObjectNode totals = totals();
      ObjectNode flat = JsonNodeFactory.instance.objectNode();
      totals
          .properties()
          .forEach(
              e -> {
                if (e.getValue().isObject()) {
                  e.getValue()
                      .properties()
                      .forEach(f -> flat.set(e.getKey() + "." + f.getKey(), f.getValue()));
                } else {
                  flat.set(e.getKey(), e.getValue());
                }
              });
      md.append(MarkdownTables.measures(flat));
      List<Item> differing =
          items.stream()
              .filter(
                  i ->
                      !i.finished()
                          || Boolean.FALSE.equals(i.sameStatus())
                          || Boolean.FALSE.equals(i.sameAnswer()))
              .toList();
      md.append("\n## Goals whose replay differs (")
          .append(Math.min(rows, differing.size()))
          .append(" of ")
          .append(differing.size())
          .append(")\n\n")
          .append("| goal | status (original → replay) | same answer | steps | tokens | cost USD |")
          .append(" duration ms | tool calls recorded / executed / not executed |\n")
          .append("|---|---|---|---|---|---|---|---|\n");
      for (Item i : differing.subList(0, Math.min(rows, differing.size()))) {
        Outcome a = i.original();
        Outcome b = i.replay();
        md.append("| ")
            .append(MarkdownTables.cell(i.goalId()))
            .append(" | ")
            .append(a == null ? "-" : a.status())
            .append(" → ")
            .append(b == null ? "not finished" : b.status())
            .append(" | ")
            .append(i.sameAnswer() == null ? "-" : i.sameAnswer() ? "yes" : "no")
            .append(" | ")
            .append(pair(a == null ? null : a.steps(), b == null ? null : b.steps()))
            .append(" | ")
            .append(pair(a == null ? null : a.tokens(), b == null ? null : b.tokens()))
            .append(" | ")
            .append(
                String.format(
                    Locale.ROOT,
                    "%s → %s",
                    a == null ? "-" : String.format(Locale.ROOT, "%.6f", a.costUsd()),
                    b == null ? "-" : String.format(Locale.ROOT, "%.6f", b.costUsd())))
            .append(" | ")
            .append(pair(a == null ? null : a.durationMs(), b == null ? null : b.durationMs()))
            .append(" | ")
            .append(i.tools().recorded())
            .append(" / ")
            .append(i.tools().executed())
            .append(" / ")
            .append(i.tools().notExecuted())
            .append(" |\n");
      }
      return md.toString();
    }

    private static String pair(Number a, Number b) {
      return (a == null ? "-" : a.toString()) + " → " + (b == null ? "-" : b.toString());
    }
  }
}
