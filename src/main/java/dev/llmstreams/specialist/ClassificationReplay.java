package dev.llmstreams.specialist;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.Classification;
import dev.llmstreams.specialist.model.Prediction;
import dev.llmstreams.specialist.model.TextClassifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A what-if over recorded classification requests: a candidate model labels them beside the labels
 * they were given in service (by the model then in service, or by an LLM), and, where a person
 * labelled the event later, both are scored against that label. Pure logic: the command {@code
 * replay classifications} reads the slice from the topics and writes the candidate's labels to its
 * own run-scoped topic. The candidate never calls an LLM: an event below its threshold is marked as
 * one it would have escalated.
 */
public final class ClassificationReplay {
  /**
   * One recorded request.
   *
   * @param recorded its classification in service; null when none was found (still waiting, or
   *     dead-lettered)
   * @param human the label a person gave the event later; null when none
   */
  public record Recorded(String eventId, String text, Classification recorded, String human) {}

  /** One replayed request: what the candidate said beside what was recorded. */
  public record Item(Recorded recorded, Prediction candidate, boolean kept) {
    /** The candidate's label equals the recorded one; null when nothing was recorded. */
    public Boolean agrees() {
      return recorded.recorded() == null
          ? null
          : recorded.recorded().label().equals(candidate.label());
    }
  }

  /** The replay of a slice. */
  public record Report(
      String candidateVersion, double threshold, List<Item> items, int unreadable) {

    public ObjectNode totals() {
      int withRecord = 0;
      int agree = 0;
      int specialist = 0;
      int agreeSpecialist = 0;
      int llm = 0;
      int agreeLlm = 0;
      int kept = 0;
      int humans = 0;
      int recordedRight = 0;
      int candidateRight = 0;
      int candidateKeptRight = 0;
      int candidateKeptHumans = 0;
      for (Item i : items) {
        Classification r = i.recorded().recorded();
        kept += i.kept() ? 1 : 0;
        if (r != null) {
          withRecord++;
          boolean same = Boolean.TRUE.equals(i.agrees());
          agree += same ? 1 : 0;
          if (r.source() == Classification.Source.SPECIALIST) {
            specialist++;
            agreeSpecialist += same ? 1 : 0;
          } else {
            llm++;
            agreeLlm += same ? 1 : 0;
          }
        }
        String human = i.recorded().human();
        if (human != null) {
          humans++;
          recordedRight += r != null && r.label().equals(human) ? 1 : 0;
          boolean right = i.candidate().label().equals(human);
          candidateRight += right ? 1 : 0;
          if (i.kept()) {
            candidateKeptHumans++;
            candidateKeptRight += right ? 1 : 0;
          }
        }
      }
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      o.put("requests", items.size());
      o.put("unreadable", unreadable);
      o.put("recorded", withRecord);
      o.put("not_recorded", items.size() - withRecord);
      share(o, "agreement", agree, withRecord);
      share(o, "agreement_with_recorded_specialist", agreeSpecialist, specialist);
      share(o, "agreement_with_recorded_llm", agreeLlm, llm);
      o.put("recorded_escalated", llm);
      share(o, "candidate_coverage", kept, items.size());
      o.put("candidate_would_escalate", items.size() - kept);
      o.put("human_labels", humans);
      share(o, "recorded_accuracy_on_human_labels", recordedRight, humans);
      share(o, "candidate_accuracy_on_human_labels", candidateRight, humans);
      share(o, "candidate_kept_accuracy_on_human_labels", candidateKeptRight, candidateKeptHumans);
      return o;
    }

    /** The report as JSON: the candidate, the totals and every item. */
    public ObjectNode toJson() {
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      o.put("candidate_version", candidateVersion);
      o.put("threshold", threshold);
      o.set("totals", totals());
      ArrayNode list = o.putArray("items");
      for (Item i : items) {
        ObjectNode n = list.addObject();
        n.put("event_id", i.recorded().eventId());
        Classification r = i.recorded().recorded();
        if (r != null) {
          ObjectNode rec = n.putObject("recorded");
          rec.put("label", r.label());
          rec.put("source", r.source().id());
          rec.put("confidence", r.confidence());
          rec.put("model_version", r.modelVersion());
        }
        ObjectNode c = n.putObject("candidate");
        c.put("label", i.candidate().label());
        c.put("confidence", i.candidate().confidence());
        c.put("kept", i.kept());
        if (i.agrees() != null) {
          n.put("agrees", i.agrees());
        }
        if (i.recorded().human() != null) {
          n.put("human_label", i.recorded().human());
        }
      }
      return o;
    }

    /**
     * The report as Markdown: the totals, then up to {@code rows} events where the candidate and
     * the record disagree.
     */
    public String toMarkdown(int rows) {
      StringBuilder md = new StringBuilder();
      md.append("# Replay of classifications: candidate ")
          .append(candidateVersion)
          .append(String.format(Locale.ROOT, " (threshold %.4f)%n%n", threshold));
      md.append(dev.llmstreams.runtime.text.MarkdownTables.measures(totals()));
      List<Item> differ = new ArrayList<>();
      for (Item i : items) {
        if (Boolean.FALSE.equals(i.agrees()) && differ.size() < rows) {
          differ.add(i);
        }
      }
      md.append("\n## Where they differ (first ").append(differ.size()).append(")\n\n");
      md.append("| event | recorded | candidate | person |\n|---|---|---|---|\n");
      for (Item i : differ) {
        Classification r = i.recorded().recorded();
        md.append("| ")
            .append(cell(i.recorded().eventId()))
            .append(" | ")
            .append(
                String.format(
                    Locale.ROOT, "%s (%s %.2f)", cell(r.label()), r.source().id(), r.confidence()))
            .append(" | ")
            .append(
                String.format(
                    Locale.ROOT,
                    "%s (%.2f%s)",
                    cell(i.candidate().label()),
                    i.candidate().confidence(),
                    i.kept() ? "" : ", would escalate"))
            .append(" | ")
            .append(i.recorded().human() == null ? "" : cell(i.recorded().human()))
            .append(" |\n");
      }
      return md.toString();
    }
  }

  private ClassificationReplay() {}

  /** The candidate's labels for {@code slice}, kept at {@code threshold} or not. */
  public static Report run(
      TextClassifier candidate, double threshold, List<Recorded> slice, int unreadable) {
    List<String> texts = new ArrayList<>(slice.size());
    slice.forEach(r -> texts.add(r.text()));
    List<Prediction> predictions = candidate.predictAll(texts);
    List<Item> items = new ArrayList<>(slice.size());
    for (int i = 0; i < slice.size(); i++) {
      Prediction p = predictions.get(i);
      items.add(new Item(slice.get(i), p, p.keptAt(threshold)));
    }
    return new Report(candidate.version(), threshold, items, unreadable);
  }

  /** The label the candidate gives an item, as a record of the run's classifications topic. */
  public static Classification asClassification(
      Item item, String candidateVersion, double threshold) {
    Prediction p = item.candidate();
    return new Classification(
        item.recorded().eventId(),
        p.label(),
        p.confidence(),
        p.top(),
        candidateVersion,
        Classification.Source.SPECIALIST,
        0,
        item.kept()
            ? null
            : "replay: would escalate, "
                + Classify.reason(p.confidence(), threshold)
                + " (not sent to an LLM in a replay)",
        null);
  }

  private static void share(ObjectNode o, String field, int count, int of) {
    if (of == 0) {
      o.putNull(field);
    } else {
      o.put(field, (double) count / of);
    }
  }

  /** Text for a Markdown table cell: no pipe, no line break. */
  private static String cell(String s) {
    return dev.llmstreams.runtime.text.MarkdownTables.cell(s);
  }
}
