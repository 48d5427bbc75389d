package dev.llmstreams.summarizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Percentage.withPercentage;

import dev.llmstreams.events.Json;
import dev.llmstreams.summarizer.MergeTree.MergeRequest;
import dev.llmstreams.summarizer.MergeTree.Node;
import dev.llmstreams.summarizer.MergeTree.Sources;
import dev.llmstreams.summarizer.MergeTree.SynthesisRequest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MergeTreeTest {

  private static final int NO_CAP = Integer.MAX_VALUE;

  // ----------------------------------------------------------------------------------------------
  // the simulated LLM

  /** One chunk before summarizing: its id and real tokens. */
  record Chunk(String id, int tokens) {}

  /** Chunks of documents of 1..8 chunks of 200..500 tokens, ids {@code doc<d>/<i>}. */
  static List<Chunk> chunks(int n, long seed) {
    Random rnd = new Random(seed);
    List<Chunk> out = new ArrayList<>();
    int doc = 0;
    while (out.size() < n) {
      int k = 1 + rnd.nextInt(8);
      for (int i = 0; i < k && out.size() < n; i++) {
        out.add(new Chunk("doc" + doc + "/" + i, 200 + rnd.nextInt(301)));
      }
      doc++;
    }
    return out;
  }

  static int compress(long tokens, double r) {
    return (int) Math.ceil(tokens / r);
  }

  /**
   * Feeds leaves (chunk summaries of {@code ceil(chunk/r)} tokens) into a tree and answers its
   * merges like an LLM with compression ratio r: in random order (so some answers come late),
   * failing some calls once (retried later by {@code claimDueMerges}), and delivering some leaves
   * and answers twice.
   */
  static final class Harness {
    final MergeTree tree;
    final List<Chunk> todo;
    final double r;
    final double failP;
    final double dupP;
    final List<MergeRequest> sent = new ArrayList<>(); // requests at the LLM, not answered yet
    final Set<String> failedOnce = new HashSet<>(); // node ids whose merge failed once
    final List<String[]> completedAnswers =
        new ArrayList<>(); // {mergeId, text, tokens}, to deliver again
    final List<Node> acceptedLeaves = new ArrayList<>();
    Sources expected;
    long chunkTokens;
    boolean retryDue;
    int next;
    int steps;
    int checkEvery = 1;
    Random rnd;

    Harness(MergeTree tree, List<Chunk> todo, double r, double failP, double dupP, long seed) {
      this.tree = tree;
      this.todo = todo;
      this.r = r;
      this.failP = failP;
      this.dupP = dupP;
      this.rnd = new Random(seed);
    }

    /**
     * A copy that continues from the same point with another tree (e.g. one read back from JSON).
     */
    Harness copyWith(MergeTree other, long seed) {
      Harness h = new Harness(other, todo, r, failP, dupP, seed);
      h.sent.addAll(sent);
      h.failedOnce.addAll(failedOnce);
      h.completedAnswers.addAll(completedAnswers);
      h.acceptedLeaves.addAll(acceptedLeaves);
      h.expected = expected;
      h.chunkTokens = chunkTokens;
      h.retryDue = retryDue;
      h.next = next;
      h.checkEvery = checkEvery;
      return h;
    }

    boolean done() {
      return next >= todo.size() && sent.isEmpty() && !retryDue;
    }

    /** Runs until every leaf is in and every merge answered. */
    Harness run() {
      while (!done()) {
        step();
      }
      return this;
    }

    void step() {
      steps++;
      double p = rnd.nextDouble();
      if (retryDue && (p < 0.05 || (sent.isEmpty() && next >= todo.size()))) {
        retryDue = false;
        sent.addAll(tree.claimDueMerges());
      } else if (next < todo.size() && (sent.isEmpty() || p < 0.5)) {
        addLeaf(todo.get(next++));
        if (rnd.nextDouble() < dupP) { // the same leaf again: ignored
          Chunk again = todo.get(rnd.nextInt(next));
          assertThat(tree.addLeaf(leaf(again))).isEmpty();
        }
      } else if (!sent.isEmpty()) {
        MergeRequest request = sent.remove(rnd.nextInt(sent.size()));
        if (rnd.nextDouble() < failP && failedOnce.add(request.nodeId())) {
          assertThat(tree.failMerge(request.mergeId())).isTrue();
          assertThat(tree.failMerge(request.mergeId())).isFalse();
          retryDue = true;
        } else {
          String text = "merge of " + request.inputs().size() + " at level " + request.level();
          int tokens = compress(request.inputTokens(), r);
          sent.addAll(tree.completeMerge(request.mergeId(), text, tokens));
          completedAnswers.add(new String[] {request.mergeId(), text, Integer.toString(tokens)});
        }
        if (!completedAnswers.isEmpty() && rnd.nextDouble() < dupP) { // an answer again: ignored
          String[] a = completedAnswers.get(rnd.nextInt(completedAnswers.size()));
          assertThat(tree.completeMerge(a[0], a[1], Integer.parseInt(a[2]))).isEmpty();
        }
      }
      if (steps % checkEvery == 0) {
        checkCoverage();
      }
    }

    Node leaf(Chunk c) {
      return Node.leaf(c.id(), "summary of " + c.id(), compress(c.tokens(), r));
    }

    void addLeaf(Chunk c) {
      Node leaf = leaf(c);
      acceptedLeaves.add(leaf);
      chunkTokens += c.tokens();
      expected =
          expected == null ? leaf.sources() : Sources.union(List.of(expected, leaf.sources()), 1);
      sent.addAll(tree.addLeaf(leaf));
    }

    /**
     * Frontier ∪ in-flight inputs cover every accepted chunk exactly once; the tree's in-flight set
     * is ours.
     */
    void checkCoverage() {
      List<Sources> parts = new ArrayList<>();
      tree.frontier().forEach(n -> parts.add(n.sources()));
      tree.inFlight().forEach(m -> m.inputs().forEach(n -> parts.add(n.sources())));
      if (expected == null) {
        assertThat(parts).isEmpty();
        return;
      }
      Sources covered = Sources.union(parts, tree.sourceIdCap());
      assertThat(covered.count()).isEqualTo(acceptedLeaves.size()).isEqualTo(tree.coveredChunks());
      assertThat(covered.digest()).isEqualTo(expected.digest());
      if (tree.sourceIdCap() == NO_CAP) {
        assertThat(covered.ids())
            .containsExactlyElementsOf(
                new TreeSet<>(acceptedLeaves.stream().map(Node::id).toList()));
      }
      assertThat(tree.inFlight()).containsExactlyInAnyOrderElementsOf(sent);
    }

    /** Closes the tree and answers merges until it is one node. */
    Harness collapse() {
      sent.addAll(tree.closeAndCollapse());
      retryDue = false;
      while (!tree.collapsed()) {
        if (sent.isEmpty()) {
          sent.addAll(tree.claimDueMerges()); // after a failure
          assertThat(sent).as("a closed tree that is not collapsed has merges to do").isNotEmpty();
        }
        step();
      }
      checkCoverage();
      return this;
    }
  }

  static Harness harness(
      String treeId,
      int n,
      int fanIn,
      int budget,
      int cap,
      double r,
      double failP,
      double dupP,
      long seed) {
    return new Harness(
        new MergeTree(treeId, fanIn, budget, cap), chunks(n, seed), r, failP, dupP, seed * 31 + 7);
  }

  /** Smallest k with fanIn^k >= n: ceil(log_fanIn(n)) without floating point. */
  static int ceilLog(int n, int base) {
    int k = 0;
    for (long p = 1; p < n; p *= base) {
      k++;
    }
    return k;
  }

  // -------------------------------------------------------------------------------------------------- properties

  @Test
  void everyChunkIsCoveredExactlyOnceAtEveryStepAndAtTheEnd() {
    for (long seed = 1; seed <= 40; seed++) {
      Random rnd = new Random(seed);
      int n = 1 + rnd.nextInt(400);
      int fanIn = 2 + rnd.nextInt(9);
      int budget = 1 + rnd.nextInt(3_000);
      Harness h = harness("k", n, fanIn, budget, NO_CAP, 2 + rnd.nextInt(5), 0.1, 0.1, seed).run();
      h.checkCoverage();
      assertThat(h.tree.inFlight()).isEmpty();
      assertThat(h.tree.coveredChunks()).isEqualTo(n);
      // at rest, no level holds a due batch
      assertThat(h.tree.claimDueMerges()).as("seed %d", seed).isEmpty();
    }
  }

  @Test
  void coverageIsExactByDigestBeyondTheIdCap() {
    Harness h = harness("k", 3_000, 8, 2_000, 100, 4, 0.05, 0.05, 11);
    h.checkEvery = 10;
    h.run().checkCoverage();
    Sources covered = h.tree.coveredSources().orElseThrow();
    assertThat(covered.count()).isEqualTo(3_000);
    assertThat(covered.ids()).isEmpty();
    Sources recomputed =
        Sources.union(h.acceptedLeaves.stream().map(Node::sources).toList(), NO_CAP);
    assertThat(covered.digest()).isEqualTo(recomputed.digest());
    assertThat(h.tree.frontier())
        .allSatisfy(
            node ->
                assertThat(node.sources().ids())
                    .hasSize(node.chunks() <= 100 ? (int) node.chunks() : 0));
  }

  @ParameterizedTest(name = "fanIn {0}")
  @CsvSource({"2", "3", "4", "8", "16"})
  void depthIsAboutLogBaseFanInOfTheLeaves(int fanIn) {
    for (int n : new int[] {1, 2, 10, 100, 1_000, 5_000}) {
      // the budget never triggers: merges are by count
      Harness h = harness("k", n, fanIn, Integer.MAX_VALUE, 100, 4, 0.02, 0.02, n + fanIn);
      h.checkEvery = 50;
      h.run();
      int bound = ceilLog(n, fanIn) + 1;
      assertThat(h.tree.depth()).as("n=%d fanIn=%d", n, fanIn).isLessThanOrEqualTo(bound);
      h.collapse();
      assertThat(h.tree.depth()).as("collapsed n=%d fanIn=%d", n, fanIn).isLessThanOrEqualTo(bound);
    }
  }

  @Test
  void depthWithTheTokenBudgetFollowsTheEffectiveFanIn() {
    // budget 2,000 over merge outputs of ~500 tokens (r=4): the budget closes batches of about r
    // (at least r-1)
    for (int n : new int[] {100, 500, 5_000}) {
      Harness h = harness("k", n, 8, 2_000, 100, 4, 0, 0, n);
      h.checkEvery = 100;
      h.run();
      System.out.printf(
          "depth with budget 2000, fanIn 8, r 4: n=%d depth=%d (ceil log_8 n = %d)%n",
          n, h.tree.depth(), ceilLog(n, 8));
      assertThat(h.tree.depth()).isLessThanOrEqualTo(ceilLog(n, 3) + 1);
    }
  }

  @Test
  void arrivalOrderDoesNotChangeWhatIsCovered() {
    List<Chunk> chunks = chunks(500, 5);
    Sources reference = null;
    for (long seed = 1; seed <= 12; seed++) {
      List<Chunk> shuffled = new ArrayList<>(chunks);
      Collections.shuffle(shuffled, new Random(seed));
      Harness h =
          new Harness(new MergeTree("k", 4, 700, NO_CAP), shuffled, 4, 0.1, 0.1, seed).run();
      Sources covered = h.tree.coveredSources().orElseThrow();
      h.collapse();
      Node last = h.tree.frontier().get(0);
      assertThat(last.sources()).isEqualTo(covered);
      if (reference == null) {
        reference = covered;
        assertThat(reference.ids()).hasSize(500);
      }
      assertThat(covered).as("seed %d", seed).isEqualTo(reference);
    }
  }

  @Test
  void duplicatesChangeNothing() {
    List<Chunk> chunks = chunks(300, 3);
    Harness clean = new Harness(new MergeTree("k", 5, 900, NO_CAP), chunks, 4, 0, 0, 99).run();
    Harness noisy = new Harness(new MergeTree("k", 5, 900, NO_CAP), chunks, 4, 0, 0.3, 99);
    noisy.run();
    assertThat(noisy.tree.coveredSources()).isEqualTo(clean.tree.coveredSources());
    assertThat(noisy.tree.leafTokens()).isEqualTo(clean.tree.leafTokens());
  }

  @Test
  void aLeafOrAMergeResultSeenTwiceIsIgnored() {
    MergeTree tree = new MergeTree("k", 3, 10_000);
    tree.addLeaf(Node.leaf("d/0", "a", 10));
    tree.addLeaf(Node.leaf("d/1", "b", 10));
    MergeTree before = MergeTree.fromState(tree.state());
    assertThat(tree.addLeaf(Node.leaf("d/0", "a again", 12))).isEmpty();
    assertThat(tree).isEqualTo(before);

    List<MergeRequest> merges = tree.addLeaf(Node.leaf("d/2", "c", 10));
    assertThat(merges).hasSize(1);
    MergeRequest m = merges.get(0);
    assertThat(m.inputs()).extracting(Node::id).containsExactly("d/0", "d/1", "d/2");
    assertThat(tree.addLeaf(Node.leaf("d/1", "b", 10))).as("claimed leaf again").isEmpty();
    tree.completeMerge(m.mergeId(), "abc", 9);
    MergeTree merged = MergeTree.fromState(tree.state());
    assertThat(tree.completeMerge(m.mergeId(), "abc", 9)).isEmpty();
    assertThat(tree.completeMerge(m.mergeId(), "other text", 5)).isEmpty();
    assertThat(tree.addLeaf(Node.leaf("d/2", "c", 10))).as("merged leaf again").isEmpty();
    assertThat(tree).isEqualTo(merged);
    assertThat(tree.frontier())
        .singleElement()
        .satisfies(
            n -> {
              assertThat(n.level()).isEqualTo(1);
              assertThat(n.text()).isEqualTo("abc");
              assertThat(n.sources().ids()).containsExactly("d/0", "d/1", "d/2");
            });
  }

  @Test
  void aFailedMergeLosesNothingAndIsRetriedUnderANewRequestId() {
    MergeTree tree = new MergeTree("k", 2, 10_000);
    tree.addLeaf(Node.leaf("a", "A", 5));
    MergeRequest first = tree.addLeaf(Node.leaf("b", "B", 5)).get(0);
    assertThat(tree.frontier()).isEmpty();
    assertThat(tree.coveredChunks()).isEqualTo(2);

    assertThat(tree.failMerge(first.mergeId())).isTrue();
    assertThat(tree.frontier()).extracting(Node::id).containsExactly("a", "b");
    assertThat(tree.inFlight()).isEmpty();
    assertThat(tree.coveredChunks()).isEqualTo(2);
    assertThat(tree.failMerge(first.mergeId())).as("twice").isFalse();
    assertThat(tree.completeMerge(first.mergeId(), "late", 3))
        .as("a late answer to the failed attempt")
        .isEmpty();
    assertThat(tree.frontier()).hasSize(2);

    List<MergeRequest> retry = tree.claimDueMerges();
    assertThat(retry)
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.nodeId()).isEqualTo(first.nodeId());
              assertThat(r.mergeId())
                  .isNotEqualTo(first.mergeId())
                  .isEqualTo(first.nodeId() + "~f1");
              assertThat(r.inputs()).isEqualTo(first.inputs());
            });
    assertThat(tree.claimDueMerges()).isEmpty();
    assertThat(tree.tokensSentToLlm()).containsExactly(20L); // the failed call and the retry
    tree.completeMerge(retry.get(0).mergeId(), "AB", 3);
    assertThat(tree.frontier())
        .singleElement()
        .satisfies(
            n -> {
              assertThat(n.id()).isEqualTo(first.nodeId());
              assertThat(n.level()).isEqualTo(1);
              assertThat(n.chunks()).isEqualTo(2);
            });
  }

  @Test
  void aFailedBatchIsReformedByTheNextArrivalAtItsLevel() {
    MergeTree tree = new MergeTree("k", 2, 10_000);
    tree.addLeaf(Node.leaf("a", "A", 5));
    MergeRequest first = tree.addLeaf(Node.leaf("b", "B", 5)).get(0);
    tree.failMerge(first.mergeId());
    List<MergeRequest> next = tree.addLeaf(Node.leaf("c", "C", 5));
    assertThat(next)
        .singleElement()
        .satisfies(r -> assertThat(r.nodeId()).isEqualTo(first.nodeId()));
    assertThat(tree.frontier()).extracting(Node::id).containsExactly("c");
  }

  @Test
  void mergeIdsAreDeterministic() {
    MergeTree one = new MergeTree("key@w1", 3, 10_000);
    MergeTree two = new MergeTree("key@w1", 3, 10_000);
    MergeTree otherKey = new MergeTree("key@w2", 3, 10_000);
    List<MergeRequest> a = new ArrayList<>();
    List<MergeRequest> b = new ArrayList<>();
    List<MergeRequest> c = new ArrayList<>();
    for (String id : List.of("x/0", "x/1", "x/2")) {
      a.addAll(one.addLeaf(Node.leaf(id, id, 4)));
      c.addAll(otherKey.addLeaf(Node.leaf(id, id, 4)));
    }
    for (String id : List.of("x/2", "x/0", "x/1")) {
      b.addAll(two.addLeaf(Node.leaf(id, id, 4)));
    }
    assertThat(a.get(0).mergeId())
        .isEqualTo(b.get(0).mergeId())
        .startsWith("key@w1/L1/")
        .isNotEqualTo(c.get(0).mergeId());
  }

  @Test
  void theTokenBudgetClosesABatchBeforeTheFanIn() {
    MergeTree tree = new MergeTree("k", 8, 100);
    assertThat(tree.addLeaf(Node.leaf("a", "A", 150)))
        .as("one node alone is never merged")
        .isEmpty();
    List<MergeRequest> merges = tree.addLeaf(Node.leaf("b", "B", 1));
    assertThat(merges).singleElement().satisfies(m -> assertThat(m.inputTokens()).isEqualTo(151));
    assertThat(tree.addLeaf(Node.leaf("c", "C", 60))).isEmpty();
    assertThat(tree.addLeaf(Node.leaf("d", "D", 40))).hasSize(1);
    assertThat(tree.tokensSentToLlm()).containsExactly(251L);
    assertThat(tree.mergesIssued()).isEqualTo(2);
  }

  // --------------------------------------------------------------------------------------------------------- cost

  @Test
  void llmTokensPerIngestedTokenAreAboutOneOverRMinusOneAndFlat() {
    double r = 4;
    double[] ratios = new double[4];
    int[] sizes = {500, 1_000, 2_000, 5_000};
    for (int i = 0; i < sizes.length; i++) {
      int n = sizes[i];
      Harness h = harness("k", n, 8, 2_000, 100, r, 0, 0.02, 1_000 + n);
      h.checkEvery = 100;
      h.run();
      Harness withFailures = harness("k", n, 8, 2_000, 100, r, 0.05, 0.02, 1_000 + n);
      withFailures.checkEvery = 100;
      withFailures.run();
      long merges = h.tree.tokensSentToLlmTotal();
      ratios[i] = (double) merges / h.chunkTokens;
      double total =
          (double) (h.chunkTokens + merges) / h.chunkTokens; // chunk summaries read each chunk once
      double withF = (double) withFailures.tree.tokensSentToLlmTotal() / withFailures.chunkTokens;
      System.out.printf(
          "r=%.0f n=%d ingested=%d leafTokens=%d mergeInput=%d byLevel=%s depth=%d merge/ingested=%.4f "
              + "(1/(r-1)=%.4f) total/ingested=%.4f (r/(r-1)=%.4f) merge/leaf=%.4f; "
              + "with 5%% failures merge/ingested=%.4f%n",
          r,
          n,
          h.chunkTokens,
          h.tree.leafTokens(),
          merges,
          h.tree.tokensSentToLlm(),
          h.tree.depth(),
          ratios[i],
          1 / (r - 1),
          total,
          r / (r - 1),
          (double) merges / h.tree.leafTokens(),
          withF);
      assertThat(ratios[i]).isLessThan(0.6);
      assertThat(withF).isLessThan(0.6);
    }
    assertThat(ratios[3]).isCloseTo(ratios[0], withPercentage(10));
  }

  // ------------------------------------------------------------------------------------------------------- close

  @Test
  void closeAndCollapseEndsWithOneNodeCoveringEverythingAndPrunes() {
    for (long seed = 1; seed <= 60; seed++) {
      Random rnd = new Random(seed);
      int n = 1 + rnd.nextInt(600);
      Harness h =
          harness("k", n, 2 + rnd.nextInt(8), 1 + rnd.nextInt(2_500), NO_CAP, 4, 0.1, 0.1, seed);
      while (h.next
          < Math.max(
              1, n / 2)) { // close mid-way, with merges in flight and failures pending a retry
        h.step();
      }
      List<Chunk> late = h.todo.subList(h.next, n);
      h.next = n; // the rest never arrives
      // no tree of fan-in k over nodes of levels l_i is lower than the smallest h with k^h >= sum
      // k^l_i (Kraft)
      int k = h.tree.fanIn();
      List<Integer> levels = new ArrayList<>(h.tree.frontier().stream().map(Node::level).toList());
      h.tree.inFlight().forEach(m -> levels.add(m.level() + 1));
      long kraft = levels.stream().mapToLong(l -> (long) Math.pow(k, l)).sum();
      int optimal = 0;
      for (long p = 1; p < kraft; p *= k) {
        optimal++;
      }
      int top = levels.stream().mapToInt(Integer::intValue).max().orElse(0);
      h.collapse();
      assertThat(h.tree.depth())
          .as("seed %d: the collapse is as low as a tree can be", seed)
          .isEqualTo(optimal);
      if (levels.size() > 1) {
        assertThat(optimal).isGreaterThan(top);
      }
      assertThat(h.tree.collapsed()).isTrue();
      assertThat(h.tree.inFlight()).isEmpty();
      assertThat(h.tree.frontier())
          .singleElement()
          .satisfies(
              node -> {
                assertThat(node.chunks()).isEqualTo(h.acceptedLeaves.size());
                assertThat(node.sources())
                    .isEqualTo(
                        Sources.union(
                            h.acceptedLeaves.stream().map(Node::sources).toList(), NO_CAP));
              });
      assertThat(h.tree.state().leafIds()).isEmpty();
      assertThat(h.tree.state().pending()).hasSize(1);
      assertThat(h.tree.closeAndCollapse()).isEmpty();
      assertThat(h.tree.synthesisRequest())
          .hasValueSatisfying(s -> assertThat(s.needsLlm()).isFalse());
      if (!late.isEmpty()) {
        assertThatThrownBy(() -> h.tree.addLeaf(h.leaf(late.get(0))))
            .isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("is closed");
      }
    }
  }

  @Test
  void closeAndCollapseMergesAcrossLevelsRegardlessOfTheBudget() {
    MergeTree tree = new MergeTree("k", 4, 1_000_000);
    tree.addLeaf(Node.leaf("a", "A", 5));
    tree.addLeaf(Node.leaf("b", "B", 5));
    List<MergeRequest> merges = tree.closeAndCollapse();
    assertThat(merges).singleElement().satisfies(m -> assertThat(m.inputs()).hasSize(2));
    assertThat(tree.collapsed()).isFalse();
    assertThat(tree.completeMerge(merges.get(0).mergeId(), "AB", 3)).isEmpty();
    assertThat(tree.collapsed()).isTrue();
    assertThat(tree.frontier()).singleElement().satisfies(n -> assertThat(n.chunks()).isEqualTo(2));

    MergeTree empty = new MergeTree("e", 4, 10);
    assertThat(empty.closeAndCollapse()).isEmpty();
    assertThat(empty.collapsed()).isTrue();
    assertThat(empty.synthesisRequest()).isEmpty();
  }

  // --------------------------------------------------------------------------------------------------- synthesis

  @Test
  void synthesisIsAViewOfTheWholeTop() {
    MergeTree tree = new MergeTree("k", 3, 10_000);
    assertThat(tree.synthesisRequest()).isEmpty();
    tree.addLeaf(Node.leaf("a", "A", 5));
    SynthesisRequest one = tree.synthesisRequest().orElseThrow();
    assertThat(one.needsLlm()).isFalse();
    assertThat(one.synthesisId()).isEqualTo("a");
    assertThat(one.inputs()).extracting(Node::text).containsExactly("A");

    tree.addLeaf(Node.leaf("b", "B", 5));
    MergeTree before = MergeTree.fromState(tree.state());
    SynthesisRequest two = tree.synthesisRequest().orElseThrow();
    assertThat(tree.synthesisRequest()).contains(two);
    assertThat(tree).as("a view consumes nothing").isEqualTo(before);
    assertThat(two.needsLlm()).isTrue();
    assertThat(two.synthesisId()).startsWith("k/S/");
    assertThat(two.level()).isEqualTo(1);
    assertThat(two.inputTokens()).isEqualTo(10);

    // a merge in flight: the synthesis still covers its inputs
    MergeRequest m = tree.addLeaf(Node.leaf("c", "C", 5)).get(0);
    assertThat(tree.frontier()).isEmpty();
    SynthesisRequest three = tree.synthesisRequest().orElseThrow();
    assertThat(three.sources().ids()).containsExactly("a", "b", "c");
    assertThat(three.synthesisId()).isNotEqualTo(two.synthesisId());

    tree.completeMerge(m.mergeId(), "ABC", 4);
    SynthesisRequest four = tree.synthesisRequest().orElseThrow();
    assertThat(four.needsLlm()).isFalse();
    assertThat(four.synthesisId()).isEqualTo(m.nodeId());
    assertThat(four.level()).isEqualTo(1);

    tree.addLeaf(Node.leaf("d", "D", 5));
    SynthesisRequest five = tree.synthesisRequest().orElseThrow();
    assertThat(five.inputs())
        .extracting(Node::id)
        .containsExactly(m.nodeId(), "d"); // highest level first
    assertThat(five.sources().count()).isEqualTo(4);
  }

  // -------------------------------------------------------------------------------------------------------- JSON

  @Test
  void aTreeReadBackFromJsonMidwayIsEqualAndContinuesTheSame() throws Exception {
    Harness a =
        harness(
            "key@2024-01-01T00:00:00Z/2024-01-02T00:00:00Z", 800, 6, 1_500, 50, 4, 0.1, 0.1, 77);
    while (a.next < 400 || a.tree.inFlight().isEmpty() || a.tree.failures() == 0) {
      a.step();
    }
    String json = Json.writer().writeValueAsString(a.tree);
    MergeTree read = Json.readerFor(MergeTree.class).readValue(json);
    assertThat(read).isEqualTo(a.tree);
    assertThat(Json.writer().writeValueAsString(read)).isEqualTo(json);
    assertThat(read.inFlight()).isNotEmpty().isEqualTo(a.tree.inFlight());

    Harness b = a.copyWith(read, 5);
    Harness a2 = a.copyWith(a.tree, 5);
    a2.run().collapse();
    b.run().collapse();
    assertThat(b.tree).isEqualTo(a2.tree);
    assertThat(b.tree.frontier())
        .singleElement()
        .satisfies(n -> assertThat(n.chunks()).isEqualTo(800));
  }

  @Test
  void jsonCarriesTheStateFieldsByName() {
    MergeTree tree = new MergeTree("k", 2, 100);
    tree.addLeaf(Node.leaf("a", "A", 5));
    tree.addLeaf(Node.leaf("b", "B", 5));
    var json = Json.toTree(tree);
    assertThat(json.fieldNames())
        .toIterable()
        .contains(
            "treeId",
            "fanIn",
            "mergeTokenBudget",
            "sourceIdCap",
            "closed",
            "pending",
            "inFlight",
            "leafIds",
            "failures",
            "tokensSentByLevel");
    assertThat(json.get("inFlight").get(0).has("inputTokens"))
        .as("derived values are not stored")
        .isFalse();
  }

  // -------------------------------------------------------------------------------------------------- validation

  @ParameterizedTest
  @CsvSource({
    "k, 1, 10, 10, fanIn must be >= 2 but was 1",
    "k, 2, 0, 10, mergeTokenBudget must be >= 1 but was 0",
    "k, 2, 10, 0, sourceIdCap must be >= 1 but was 0",
    "' ', 2, 10, 10, treeId must not be blank"
  })
  void rejectsBadParametersWithClearMessages(
      String id, int fanIn, int budget, int cap, String message) {
    assertThatThrownBy(() -> new MergeTree(id, fanIn, budget, cap))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(message);
  }

  @Test
  void rejectsNodesThatAreNotLeaves() {
    MergeTree tree = new MergeTree("k", 2, 10);
    Node notLeaf = new Node("x", 1, "X", 3, 1, Sources.of("x"));
    assertThatThrownBy(() -> tree.addLeaf(notLeaf))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a leaf");
    assertThatThrownBy(() -> Node.leaf("a", "A", -1))
        .hasMessage("node tokens must be >= 0 but was -1");
    assertThatThrownBy(() -> new Node("a", 0, "A", 1, 2, Sources.of("a")))
        .hasMessage("node a covers 2 chunks but its sources count 1");
  }
}
