package dev.llmstreams.summarizer;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.PromptRef;
import dev.llmstreams.events.Synthesis;
import dev.llmstreams.runtime.text.MarkdownTables;
import dev.llmstreams.runtime.text.Rouge;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The report of {@code replay documents}: per synthesis (a key, or a key's window), the shadow
 * synthesis the candidate wrote beside the latest one recorded on the production syntheses topic,
 * ROUGE-1/2/L F1 of the shadow against the recorded one and against a reference when there is one,
 * and what the candidate's LLM calls cost. Pure: the command reads the topics and hands the values
 * here.
 */
public final class SynthesisReplay {

  /** The candidate's LLM calls for one synthesis tree (from its replies). */
  public record Calls(
      long calls,
      long errors,
      long inputTokens,
      long outputTokens,
      double costUsd,
      long latencyMs,
      long maxLatencyMs) {
    public static final Calls NONE = new Calls(0, 0, 0, 0, 0, 0, 0);

    Calls plus(LlmReply r) {
      long in = r.usage() == null ? 0 : r.usage().inputTokens();
      long out = r.usage() == null ? 0 : r.usage().outputTokens();
      return new Calls(
          calls + 1,
          errors + (r.error() != null ? 1 : 0),
          inputTokens + in,
          outputTokens + out,
          costUsd + r.costUsd(),
          latencyMs + r.latencyMs(),
          Math.max(maxLatencyMs, r.latencyMs()));
    }

    Calls plus(Calls c) {
      return new Calls(
          calls + c.calls,
          errors + c.errors,
          inputTokens + c.inputTokens,
          outputTokens + c.outputTokens,
          costUsd + c.costUsd,
          latencyMs + c.latencyMs,
          Math.max(maxLatencyMs, c.maxLatencyMs));
    }
  }

  /** ROUGE-1, ROUGE-2 and ROUGE-L F1 of a text against another. */
  public record Scores(double rouge1, double rouge2, double rougeL) {
    public static Scores of(String candidate, String reference) {
      List<String> c = Rouge.tokens(candidate);
      List<String> r = Rouge.tokens(reference);
      return new Scores(Rouge.n(c, r, 1).f1(), Rouge.n(c, r, 2).f1(), Rouge.l(c, r).f1());
    }

    ObjectNode toJson() {
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      o.put("rouge1_f1", rouge1);
      o.put("rouge2_f1", rouge2);
      o.put("rougeL_f1", rougeL);
      return o;
    }
  }

  /**
   * One synthesis of the slice.
   *
   * @param expectedDocuments the documents of the slice under this key, which the shadow must cover
   * @param original the latest synthesis of the same record key on the production topic; null when
   *     there is none
   * @param shadow the latest synthesis of the candidate; null when it did not come in time
   * @param reference the reference text given for the key; null when none
   */
  public record Item(
      String recordKey,
      long expectedDocuments,
      Synthesis original,
      Synthesis shadow,
      String reference,
      Calls calls) {
    /** True when the shadow covers the slice's documents of its key. */
    public boolean complete() {
      return shadow != null && shadow.documents() >= expectedDocuments;
    }

    public Scores vsOriginal() {
      return original == null || shadow == null ? null : Scores.of(shadow.text(), original.text());
    }

    public Scores shadowVsReference() {
      return reference == null || shadow == null ? null : Scores.of(shadow.text(), reference);
    }

    public Scores originalVsReference() {
      return reference == null || original == null ? null : Scores.of(original.text(), reference);
    }
  }

  /**
   * @param candidate what the candidate changed (route, model, prompts dir), as given
   * @param documents documents of the slice copied to the run's documents topic
   * @param wallMs from the first document copied to the last shadow synthesis read
   * @param all every LLM call of the candidate (an all-time synthesis and its windows share calls,
   *     so the items do not add up to it)
   */
  public record Report(
      Map<String, String> candidate, long documents, long wallMs, List<Item> items, Calls all) {

    public ObjectNode totals() {
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      o.put("documents", documents);
      o.put("syntheses", items.size());
      o.put("complete", items.stream().filter(Item::complete).count());
      o.put("with_original", items.stream().filter(i -> i.original() != null).count());
      o.put("with_reference", items.stream().filter(i -> i.reference() != null).count());
      mean(o, "shadow_vs_original", items.stream().map(Item::vsOriginal).toList());
      mean(o, "shadow_vs_reference", items.stream().map(Item::shadowVsReference).toList());
      mean(o, "original_vs_reference", items.stream().map(Item::originalVsReference).toList());
      calls(o, all);
      o.put("wall_ms", wallMs);
      return o;
    }

    public ObjectNode toJson() {
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      ObjectNode c = o.putObject("candidate");
      candidate.forEach(c::put);
      o.set("totals", totals());
      ArrayNode list = o.putArray("items");
      for (Item i : items) {
        ObjectNode n = list.addObject();
        n.put("synthesis", i.recordKey());
        n.put("documents", i.expectedDocuments());
        n.put("complete", i.complete());
        if (i.original() != null) {
          n.set("original", synthesis(i.original()));
        }
        if (i.shadow() != null) {
          n.set("shadow", synthesis(i.shadow()));
        }
        put(n, "shadow_vs_original", i.vsOriginal());
        put(n, "shadow_vs_reference", i.shadowVsReference());
        put(n, "original_vs_reference", i.originalVsReference());
        calls(n, i.calls());
      }
      return o;
    }

    public String toMarkdown() {
      StringBuilder md = new StringBuilder("# Replay of documents: candidate ");
      md.append(candidate.isEmpty() ? "(as configured)" : candidate.toString()).append("\n\n");
      md.append(MarkdownTables.measures(totals()));
      md.append("\n## Per synthesis\n\n")
          .append("| synthesis | documents | complete | ROUGE-1/2/L vs original |")
          .append(" ROUGE-L vs reference (shadow / original) | calls | tokens in/out | cost USD |")
          .append(" latency ms |\n|---|---|---|---|---|---|---|---|---|\n");
      for (Item i : items) {
        Scores o = i.vsOriginal();
        Scores sr = i.shadowVsReference();
        Scores or = i.originalVsReference();
        Calls c = i.calls();
        md.append("| ")
            .append(MarkdownTables.cell(i.recordKey()))
            .append(" | ")
            .append(i.expectedDocuments())
            .append(" | ")
            .append(i.complete() ? "yes" : "no")
            .append(" | ")
            .append(
                o == null
                    ? "no original"
                    : String.format(
                        Locale.ROOT, "%.3f / %.3f / %.3f", o.rouge1, o.rouge2, o.rougeL))
            .append(" | ")
            .append(
                sr == null && or == null
                    ? ""
                    : String.format(
                        Locale.ROOT,
                        "%s / %s",
                        sr == null ? "-" : String.format(Locale.ROOT, "%.3f", sr.rougeL),
                        or == null ? "-" : String.format(Locale.ROOT, "%.3f", or.rougeL)))
            .append(" | ")
            .append(c.calls())
            .append(" | ")
            .append(c.inputTokens())
            .append('/')
            .append(c.outputTokens())
            .append(" | ")
            .append(String.format(Locale.ROOT, "%.6f", c.costUsd()))
            .append(" | ")
            .append(c.latencyMs())
            .append(" |\n");
      }
      return md.toString();
    }
  }

  private SynthesisReplay() {}

  /**
   * The candidate's calls per synthesis tree ({@code key}, or {@code key@<window start ms>}), from
   * its replies on the run's summarizer replies topic.
   */
  public static Map<String, Calls> callsByTree(List<LlmReply> replies) {
    Map<String, Calls> out = new LinkedHashMap<>();
    for (LlmReply r : replies) {
      String tree = Windowing.treeKeyOf(r.correlationId(), r.requestId());
      out.merge(tree, Calls.NONE.plus(r), Calls::plus);
    }
    return out;
  }

  /**
   * The document ids each synthesis tree of {@code key} must cover once its documents are in: the
   * all-time tree (under the key) and, with windows of {@code windowMs} (0: none), the tree of each
   * window a document falls in (under {@code key@<window start ms>}).
   *
   * @param documents the documents' ids and event times
   */
  public static Map<String, Set<String>> trees(
      String key, Map<String, Instant> documents, long windowMs) {
    Map<String, Set<String>> out = new TreeMap<>();
    out.put(key, new TreeSet<>(documents.keySet()));
    if (windowMs > 0) {
      Windowing windowing = new Windowing(windowMs, 0);
      documents.forEach(
          (id, at) ->
              out.computeIfAbsent(
                      Windowing.treeKey(key, windowing.startOf(at.toEpochMilli())),
                      t -> new TreeSet<>())
                  .add(id));
    }
    return out;
  }

  /** The candidate's calls per synthesis key (all its trees), from its replies. */
  public static Map<String, Calls> callsByKey(List<LlmReply> replies) {
    Map<String, Calls> out = new LinkedHashMap<>();
    replies.forEach(r -> out.merge(r.correlationId(), Calls.NONE.plus(r), Calls::plus));
    return out;
  }

  /** All the candidate's calls. */
  public static Calls total(List<LlmReply> replies) {
    Calls all = Calls.NONE;
    for (LlmReply r : replies) {
      all = all.plus(r);
    }
    return all;
  }

  /** The tree a synthesis is built by: its key, or {@code key@<window start ms>}. */
  public static String treeOf(Synthesis s) {
    return s.window() == null
        ? s.key()
        : Windowing.treeKey(s.key(), s.window().start().toEpochMilli());
  }

  private static ObjectNode synthesis(Synthesis s) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("text", s.text());
    o.put("documents", s.documents());
    o.put("chunks", s.chunks());
    o.put("level", s.level());
    o.put("llm_input_tokens", s.llmInputTokens());
    o.put("model", s.model());
    ArrayNode models = o.putArray("models");
    s.models().forEach(models::add);
    ArrayNode prompts = o.putArray("prompts");
    for (PromptRef p : s.prompts()) {
      prompts.add(p.id() + "@" + p.version());
    }
    o.put("updated_at", s.updatedAt().toString());
    return o;
  }

  private static void put(ObjectNode o, String field, Scores s) {
    if (s != null) {
      o.set(field, s.toJson());
    }
  }

  private static void mean(ObjectNode o, String field, List<Scores> scores) {
    List<Scores> present = scores.stream().filter(s -> s != null).toList();
    if (present.isEmpty()) {
      o.putNull(field);
      return;
    }
    double n = present.size();
    o.set(
        field,
        new Scores(
                present.stream().mapToDouble(Scores::rouge1).sum() / n,
                present.stream().mapToDouble(Scores::rouge2).sum() / n,
                present.stream().mapToDouble(Scores::rougeL).sum() / n)
            .toJson());
  }

  private static void calls(ObjectNode o, Calls c) {
    o.put("llm_calls", c.calls());
    o.put("llm_errors", c.errors());
    o.put("input_tokens", c.inputTokens());
    o.put("output_tokens", c.outputTokens());
    o.put("cost_usd", c.costUsd());
    o.put("llm_latency_ms", c.latencyMs());
    o.put("llm_max_latency_ms", c.maxLatencyMs());
  }
}
