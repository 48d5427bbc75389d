package dev.llmstreams.chaos;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The arithmetic of a chaos report, apart from Kafka: which inputs were lost or duplicated, which
 * poison records did not reach dead-letters, which tool calls ran twice.
 */
final class Accounting {
  private Accounting() {}

  /**
   * One pattern's count.
   *
   * @param inputs inputs sent
   * @param outputs committed output records of these inputs (a duplicate counts twice)
   * @param withOutput inputs with at least one committed output
   * @param deadLettered inputs with no output that are in dead-letters
   * @param lost inputs with no output and not in dead-letters, sorted
   * @param duplicated inputs with more than one committed output, sorted
   */
  record Count(
      int inputs,
      long outputs,
      int withOutput,
      int deadLettered,
      List<String> lost,
      List<String> duplicated) {}

  /**
   * Counts one pattern: {@code outputsPerInput} holds committed outputs per input id (ids not among
   * the inputs, such as another run's, are ignored); {@code deadLettered} the input ids found in
   * dead-letters.
   */
  static Count count(
      Collection<String> inputs, Map<String, Integer> outputsPerInput, Set<String> deadLettered) {
    Set<String> lost = new TreeSet<>();
    Set<String> duplicated = new TreeSet<>();
    long outputs = 0;
    int withOutput = 0;
    int dead = 0;
    for (String id : new TreeSet<>(inputs)) {
      int n = outputsPerInput.getOrDefault(id, 0);
      outputs += n;
      if (n > 0) {
        withOutput++;
      } else if (deadLettered.contains(id)) {
        dead++;
      } else {
        lost.add(id);
      }
      if (n > 1) {
        duplicated.add(id);
      }
    }
    return new Count(
        inputs.size(),
        outputs,
        withOutput,
        dead,
        new ArrayList<>(lost),
        new ArrayList<>(duplicated));
  }

  /**
   * Committed outputs per document. A document's output is its part of its key's synthesis: 0 when
   * the latest synthesis of its key does not list it; otherwise the most times any of its
   * chunk-summary requests was committed on llm-requests (1 when the summarizer chunked it once; 2
   * when a chunk was emitted again, which would be summarized and billed again).
   *
   * @param inSynthesis document ids listed by the latest synthesis of their key
   * @param chunkRequests per document id, committed chunk-summary requests per requestId
   */
  static Map<String, Integer> documentOutputs(
      Collection<String> documents,
      Set<String> inSynthesis,
      Map<String, Map<String, Integer>> chunkRequests) {
    Map<String, Integer> out = new java.util.HashMap<>();
    for (String doc : documents) {
      if (!inSynthesis.contains(doc)) {
        continue;
      }
      int most =
          chunkRequests.getOrDefault(doc, Map.of()).values().stream()
              .mapToInt(Integer::intValue)
              .max()
              .orElse(1);
      out.put(doc, Math.max(1, most));
    }
    return out;
  }

  /** A record's place in Kafka. */
  record SourceOffset(String topic, int partition, long offset)
      implements Comparable<SourceOffset> {
    @Override
    public int compareTo(SourceOffset o) {
      int c = topic.compareTo(o.topic);
      if (c != 0) {
        return c;
      }
      c = Integer.compare(partition, o.partition);
      return c != 0 ? c : Long.compare(offset, o.offset);
    }

    @Override
    public String toString() {
      return topic + "/" + partition + "@" + offset;
    }
  }

  /**
   * Poison records sent that are not in dead-letters (matched by source topic, partition and
   * offset), sorted.
   */
  static List<SourceOffset> poisonMissing(
      Collection<SourceOffset> sent, Set<SourceOffset> deadLettered) {
    return sent.stream().filter(p -> !deadLettered.contains(p)).sorted().toList();
  }

  /**
   * Tool calls that ran more than once, seen from outside: a call with two different committed
   * results (a result names the worker process that ran it, so a second run yields a different
   * record; an identical repeat is the worker's stored answer to a resent call, which ran nothing),
   * or with more than one record published by the publish tool.
   *
   * @param resultsPerCall per callId, the distinct committed result records (as JSON text) and how
   *     often each came
   * @param publicationsPerCall per callId, records the publish tool wrote
   */
  static List<String> toolCallsRepeated(
      Map<String, Map<String, Integer>> resultsPerCall, Map<String, Integer> publicationsPerCall) {
    Set<String> repeated = new TreeSet<>();
    resultsPerCall.forEach(
        (call, results) -> {
          if (results.size() > 1) {
            repeated.add(call);
          }
        });
    publicationsPerCall.forEach(
        (call, n) -> {
          if (n > 1) {
            repeated.add(call);
          }
        });
    return new ArrayList<>(repeated);
  }

  /** CallIds with more than one committed result record, identical ones included. */
  static List<String> toolResultsRepeated(Map<String, Map<String, Integer>> resultsPerCall) {
    return resultsPerCall.entrySet().stream()
        .filter(e -> e.getValue().values().stream().mapToInt(Integer::intValue).sum() > 1)
        .map(Map.Entry::getKey)
        .sorted()
        .toList();
  }
}
