package dev.llmstreams.summarizer;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.llmstreams.observability.tracing.SpanRef;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The merge tree of one synthesis (one key and window): chunk summaries are merged level by level
 * into ever larger summaries, by asynchronous LLM calls, so that each token is read by an LLM about
 * once. Plain Java, no Kafka; the whole state is one JSON value ({@link State}) for a state store.
 * Not thread-safe (one stream task owns a key).
 *
 * <pre>
 *  fanIn 8, 90 chunks so far:
 *  level 2   N (chunks 1..64)                                        pending
 *  level 1   (merged into N)   m m m (chunks 65..88) ──claimed──▶ merge in flight ─▶ a level-2 node later
 *  level 0   (merged)          (merged)                y z (89, 90)   pending
 *
 *  frontier = the pending nodes of every level (N, y, z); frontier ∪ claimed inputs cover every chunk exactly once
 *  synthesis = one LLM merge of that top: a view, it consumes nothing and is redone when the top changes
 * </pre>
 *
 * <h2>Rules</h2>
 *
 * <ul>
 *   <li><b>Nodes.</b> A leaf is a chunk summary ({@link Node#leaf}); a merge node at level l+1 is
 *       the LLM's merge of nodes of level l and covers the union of their chunks. A node is
 *       <em>pending</em> (waiting to be merged, part of the frontier), <em>claimed</em> (input of a
 *       merge in flight) or gone (merged: its parent covers it; merged nodes are not kept, so the
 *       state holds only the frontier and the in-flight merges).
 *   <li><b>When to merge.</b> Pending nodes of a level, in arrival order, are cut greedily into
 *       batches: a batch is closed as soon as it has at least 2 nodes and its tokens reach {@code
 *       mergeTokenBudget} or its count reaches {@code fanIn}. Each batch is claimed and returned as
 *       a {@link MergeRequest} for the caller to send. A new leaf therefore causes at most one
 *       merge per level: a late document touches one branch.
 *   <li><b>Cost.</b> Every node is read by one merge (retries aside), so with compression ratio r
 *       (a merge of t tokens writes t/r) the merges read t0·(1 + 1/r + 1/r² + …) = t0·r/(r-1)
 *       tokens for t0 leaf tokens, i.e. 1/(r-1) per chunk token when the leaves are themselves
 *       chunk/r: flat in the number of documents (the frontier, at most fanIn-1 nodes a level, is
 *       not yet merged). Depth is log base the effective fan-in, which is {@code fanIn} when {@code
 *       mergeTokenBudget >= fanIn × (typical merge output)}, else about budget / (merge output) ≥
 *       r-1.
 *   <li><b>Ids.</b> A merge node's id is {@code treeId/L<level>/<128-bit hash of its sorted input
 *       ids>}: the same inputs give the same node. The {@link MergeRequest#mergeId()} is that id,
 *       plus {@code ~f<n>} when the tree had seen n failed merges when it was issued: a replayed
 *       request keeps its id (the gateway answers it from its cache), a retry after a failure gets
 *       a new one (the gateway also caches failures by request id).
 *   <li><b>Idempotence.</b> A leaf whose id was seen before is ignored (the tree keeps the ids of
 *       its leaves until it is collapsed, ~one id per chunk: the price of exact de-duplication); a
 *       completion or failure of a mergeId that is not in flight is ignored (a duplicate, or a late
 *       answer to an attempt already failed).
 *   <li><b>Failures.</b> {@link #failMerge} returns the inputs to pending, in front of their level,
 *       so nothing is lost and the frontier still covers them. It does not re-issue at once (that
 *       would hot-loop against a provider that is down): the batch is re-formed at the next arrival
 *       at that level or by {@link #claimDueMerges()}, which the caller runs after a back-off.
 *   <li><b>Synthesis.</b> {@link #synthesisRequest()} merges the <em>top</em>: the frontier plus
 *       the claimed inputs of merges in flight, so the synthesis always covers every chunk seen (it
 *       never shrinks while a merge is in flight). It is a view: it claims nothing. Its cost is the
 *       caller's to bound, by rate-limiting syntheses.
 *   <li><b>Close.</b> {@link #closeAndCollapse()} (window closed) merges the pending nodes
 *       regardless of the budget, across levels (result level = highest input level + 1), k-ary
 *       Huffman on levels: always the lowest nodes, waiting for a merge in flight when its result
 *       is among them; the final node is as low as any tree over the top can be (one level above it
 *       when each level holds fewer than fanIn nodes), and merges that do not wait on each other go
 *       out together. When one node is left and nothing is in flight the tree is <em>collapsed</em>
 *       and pruned to that node (leaf ids dropped). A closed tree refuses new leaves.
 *   <li><b>Sources.</b> A node's chunk ids: the sorted list while there are at most {@code
 *       sourceIdCap}, beyond that only the count; always an order-independent digest (sum mod 2^256
 *       of the SHA-256 of each id), so coverage can be compared exactly at any size and the union
 *       of disjoint sets is computed from the parts without the ids.
 * </ul>
 */
public final class MergeTree {

  /** Default {@code sourceIdCap}: as many chunk ids as a synthesis lists document ids. */
  public static final int DEFAULT_SOURCE_ID_CAP = 100;

  private static final BigInteger MOD_2_256 = BigInteger.ONE.shiftLeft(256);
  private static final HexFormat HEX = HexFormat.of();

  // ------------------------------------------------------------------------------------------------------- records

  /**
   * The chunks a node covers.
   *
   * @param count how many chunks
   * @param ids the sorted chunk ids when {@code count <= cap}, else empty
   * @param digest sum mod 2^256 of SHA-256(id) over all ids, 64 lower-case hex digits: equal sets,
   *     equal digests; the digest of a disjoint union is the sum of the digests
   */
  public record Sources(
      @JsonProperty(required = true) long count, List<String> ids, String digest) {
    public Sources {
      if (count < 1) {
        throw new IllegalArgumentException("sources count must be >= 1 but was " + count);
      }
      ids = ids == null ? List.of() : List.copyOf(ids);
      if (!ids.isEmpty() && ids.size() != count) {
        throw new IllegalArgumentException(
            "sources list "
                + ids.size()
                + " ids for a count of "
                + count
                + "; the list is either complete or empty");
      }
      for (int i = 1; i < ids.size(); i++) {
        if (ids.get(i - 1).compareTo(ids.get(i)) >= 0) {
          throw new IllegalArgumentException("sources ids must be sorted and distinct");
        }
      }
      if (digest == null || !digest.matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException("sources digest must be 64 lower-case hex digits");
      }
    }

    /** One chunk. */
    public static Sources of(String chunkId) {
      return new Sources(1, List.of(chunkId), HEX.formatHex(sha256(chunkId)));
    }

    /** The union of disjoint sources; ids are listed while the total is at most {@code cap}. */
    public static Sources union(Collection<Sources> parts, int cap) {
      if (parts.isEmpty()) {
        throw new IllegalArgumentException("union of no sources");
      }
      long count = 0;
      BigInteger sum = BigInteger.ZERO;
      boolean listed = true;
      for (Sources s : parts) {
        count += s.count;
        sum = sum.add(new BigInteger(s.digest, 16));
        listed &= !s.ids.isEmpty();
      }
      List<String> ids = List.of();
      if (listed && count <= cap) {
        TreeSet<String> all = new TreeSet<>();
        parts.forEach(s -> all.addAll(s.ids));
        ids = List.copyOf(all);
      }
      String hex = sum.mod(MOD_2_256).toString(16);
      return new Sources(count, ids, "0".repeat(64 - hex.length()) + hex);
    }
  }

  /**
   * A node of the tree.
   *
   * @param id the chunk id for a leaf (e.g. {@code docId/chunkIndex}); {@code
   *     treeId/L<level>/<hash>} for a merge
   * @param level 0 for a leaf; one more than its highest input for a merge
   * @param text the summary
   * @param tokens the summary's tokens
   * @param chunks how many chunks it covers, {@code sources.count()}
   * @param sources the chunks it covers
   * @param span the span that wrote it (a chunk's {@code summarize_chunk}, a merge's {@code
   *     merge_summaries}), which the merge or synthesis reading it links to; null when unknown
   *     (nodes stored before tracing existed). Not part of the node's identity: ids and merges
   *     ignore it
   */
  public record Node(
      String id,
      @JsonProperty(required = true) int level,
      String text,
      @JsonProperty(required = true) int tokens,
      @JsonProperty(required = true) long chunks,
      Sources sources,
      SpanRef span) {
    public Node {
      requireText(id, "node id");
      if (level < 0) {
        throw new IllegalArgumentException("node level must be >= 0 but was " + level);
      }
      Objects.requireNonNull(text, "node text must not be null");
      if (tokens < 0) {
        throw new IllegalArgumentException("node tokens must be >= 0 but was " + tokens);
      }
      Objects.requireNonNull(sources, "node sources must not be null");
      if (chunks != sources.count()) {
        throw new IllegalArgumentException(
            "node "
                + id
                + " covers "
                + chunks
                + " chunks but its sources count "
                + sources.count());
      }
    }

    /** A node with no span. */
    public Node(String id, int level, String text, int tokens, long chunks, Sources sources) {
      this(id, level, text, tokens, chunks, sources, null);
    }

    /** A chunk summary: level 0, one chunk, its own id as source. */
    public static Node leaf(String chunkId, String text, int tokens) {
      return leaf(chunkId, text, tokens, null);
    }

    /** A chunk summary written under {@code span} (may be null). */
    public static Node leaf(String chunkId, String text, int tokens, SpanRef span) {
      return new Node(chunkId, 0, text, tokens, 1, Sources.of(chunkId), span);
    }
  }

  /**
   * Merge {@code inputs} into one node of level {@code level + 1}, by an LLM call whose request id
   * is {@code mergeId}.
   *
   * @param mergeId the request id: {@code nodeId}, plus {@code ~f<n>} for a request issued after n
   *     failures
   * @param nodeId the id of the node the merge will produce
   * @param level the highest level among the inputs
   * @param inputs the claimed nodes, in the order to present them (arrival order within a level)
   */
  public record MergeRequest(
      String mergeId, String nodeId, @JsonProperty(required = true) int level, List<Node> inputs) {
    public MergeRequest {
      requireText(mergeId, "mergeId");
      requireText(nodeId, "nodeId");
      inputs = List.copyOf(inputs);
      if (inputs.size() < 2) {
        throw new IllegalArgumentException(
            "a merge needs at least 2 inputs but had " + inputs.size());
      }
    }

    /** Tokens the LLM will read (the summaries, without the prompt). */
    public long inputTokens() {
      return inputs.stream().mapToLong(Node::tokens).sum();
    }
  }

  /**
   * The synthesis of the current top. When {@link #needsLlm()} the caller merges {@code inputs}
   * with one LLM call of request id {@code synthesisId}; otherwise the single input's text is the
   * synthesis, no call needed.
   *
   * @param synthesisId the single node's id, or {@code treeId/S/<hash of the sorted input ids>}:
   *     changes when the top changes, stable otherwise
   * @param level the single node's level, or the highest input level + 1
   * @param inputs the top: pending and claimed nodes, highest level first (older material first,
   *     usually)
   * @param sources every chunk seen
   */
  public record SynthesisRequest(
      String synthesisId, int level, List<Node> inputs, Sources sources) {
    public SynthesisRequest {
      inputs = List.copyOf(inputs);
    }

    public boolean needsLlm() {
      return inputs.size() > 1;
    }

    public long inputTokens() {
      return inputs.stream().mapToLong(Node::tokens).sum();
    }
  }

  /**
   * The JSON form of a tree.
   *
   * @param pending pending nodes, all levels, in order (arrival order within a level; returned
   *     failures first)
   * @param inFlight merges issued and not yet completed or failed, in issue order
   * @param leafIds ids of every leaf accepted, sorted; emptied when the tree is collapsed
   * @param failures merges failed so far (numbers retries)
   * @param tokensSentByLevel input tokens of the merges issued, by request level
   */
  public record State(
      String treeId,
      @JsonProperty(required = true) int fanIn,
      @JsonProperty(required = true) int mergeTokenBudget,
      @JsonProperty(required = true) int sourceIdCap,
      @JsonProperty(required = true) boolean closed,
      List<Node> pending,
      List<MergeRequest> inFlight,
      List<String> leafIds,
      @JsonProperty(required = true) long failures,
      @JsonProperty(required = true) long mergesIssued,
      @JsonProperty(required = true) long leafTokens,
      List<Long> tokensSentByLevel) {
    public State {
      pending = pending == null ? List.of() : List.copyOf(pending);
      inFlight = inFlight == null ? List.of() : List.copyOf(inFlight);
      leafIds = leafIds == null ? List.of() : List.copyOf(leafIds);
      tokensSentByLevel = tokensSentByLevel == null ? List.of() : List.copyOf(tokensSentByLevel);
    }
  }

  // --------------------------------------------------------------------------------------------------------- state

  private final String treeId;
  private final int fanIn;
  private final int mergeTokenBudget;
  private final int sourceIdCap;
  private boolean closed;
  private final List<Node> pending = new ArrayList<>();
  private final LinkedHashMap<String, MergeRequest> inFlight = new LinkedHashMap<>();
  private final Set<String> leafIds = new HashSet<>();
  private long failures;
  private long mergesIssued;
  private long leafTokens;
  private final List<Long> tokensSentByLevel = new ArrayList<>();

  /**
   * An empty tree.
   *
   * @param treeId names the tree in merge and synthesis ids, unique across keys and windows, e.g.
   *     {@code key@start/end}
   * @param fanIn merge a level's pending nodes when there are this many (>= 2)
   * @param mergeTokenBudget or when their tokens reach this (>= 1)
   * @param sourceIdCap list a node's chunk ids while there are at most this many (>= 1)
   */
  public MergeTree(String treeId, int fanIn, int mergeTokenBudget, int sourceIdCap) {
    this.treeId = requireText(treeId, "treeId");
    if (fanIn < 2) {
      throw new IllegalArgumentException("fanIn must be >= 2 but was " + fanIn);
    }
    if (mergeTokenBudget < 1) {
      throw new IllegalArgumentException(
          "mergeTokenBudget must be >= 1 but was " + mergeTokenBudget);
    }
    if (sourceIdCap < 1) {
      throw new IllegalArgumentException("sourceIdCap must be >= 1 but was " + sourceIdCap);
    }
    this.fanIn = fanIn;
    this.mergeTokenBudget = mergeTokenBudget;
    this.sourceIdCap = sourceIdCap;
  }

  public MergeTree(String treeId, int fanIn, int mergeTokenBudget) {
    this(treeId, fanIn, mergeTokenBudget, DEFAULT_SOURCE_ID_CAP);
  }

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public static MergeTree fromState(State s) {
    MergeTree t = new MergeTree(s.treeId(), s.fanIn(), s.mergeTokenBudget(), s.sourceIdCap());
    t.closed = s.closed();
    t.pending.addAll(s.pending());
    for (MergeRequest r : s.inFlight()) {
      if (t.inFlight.put(r.mergeId(), r) != null) {
        throw new IllegalArgumentException("merge " + r.mergeId() + " is in flight twice");
      }
    }
    t.leafIds.addAll(s.leafIds());
    t.failures = s.failures();
    t.mergesIssued = s.mergesIssued();
    t.leafTokens = s.leafTokens();
    t.tokensSentByLevel.addAll(s.tokensSentByLevel());
    return t;
  }

  @JsonValue
  public State state() {
    return new State(
        treeId,
        fanIn,
        mergeTokenBudget,
        sourceIdCap,
        closed,
        pending,
        List.copyOf(inFlight.values()),
        new ArrayList<>(new TreeSet<>(leafIds)),
        failures,
        mergesIssued,
        leafTokens,
        tokensSentByLevel);
  }

  /** Whether a leaf with this id was accepted (until the tree is collapsed). */
  public boolean hasLeaf(String id) {
    return leafIds.contains(id);
  }

  // ------------------------------------------------------------------------------------------------------ commands

  /**
   * Adds a chunk summary. Returns the merges it makes due (already claimed), empty when the leaf
   * was seen before.
   *
   * @throws IllegalArgumentException when {@code leaf} is not a leaf (level 0, one chunk, its own
   *     id as source)
   * @throws IllegalStateException when the tree is closed
   */
  public List<MergeRequest> addLeaf(Node leaf) {
    Objects.requireNonNull(leaf, "leaf must not be null");
    if (leaf.level() != 0
        || leaf.chunks() != 1
        || !leaf.sources().ids().equals(List.of(leaf.id()))) {
      throw new IllegalArgumentException(
          "node "
              + leaf.id()
              + " is not a leaf: a leaf has level 0 and covers one "
              + "chunk, its own id (see Node.leaf)");
    }
    if (closed) {
      throw new IllegalStateException(
          "tree " + treeId + " is closed: leaf " + leaf.id() + " comes too late");
    }
    if (!leafIds.add(leaf.id())) {
      return List.of();
    }
    leafTokens += leaf.tokens();
    pending.add(leaf);
    return claimDueMerges();
  }

  /**
   * Records the LLM's merge: the node it makes becomes pending at the next level. Returns the
   * merges that makes due; empty, and no change, when {@code mergeId} is not in flight (a duplicate
   * or a stale attempt).
   */
  public List<MergeRequest> completeMerge(String mergeId, String text, int tokens) {
    return completeMerge(mergeId, text, tokens, null);
  }

  /** {@link #completeMerge(String, String, int)}, the new node written under {@code span}. */
  public List<MergeRequest> completeMerge(String mergeId, String text, int tokens, SpanRef span) {
    MergeRequest request = inFlight.get(mergeId);
    if (request == null) {
      return List.of();
    }
    Sources sources =
        Sources.union(request.inputs().stream().map(Node::sources).toList(), sourceIdCap);
    Node merged =
        new Node(
            request.nodeId(), request.level() + 1, text, tokens, sources.count(), sources, span);
    inFlight.remove(mergeId);
    pending.add(merged);
    return claimDueMerges();
  }

  /**
   * Records that the LLM call for {@code mergeId} failed: its inputs are pending again, in front of
   * their level. Returns false, and changes nothing, when it was not in flight. Nothing is
   * re-issued here: see {@link #claimDueMerges()}.
   */
  public boolean failMerge(String mergeId) {
    MergeRequest request = inFlight.remove(mergeId);
    if (request == null) {
      return false;
    }
    failures++;
    pending.addAll(0, request.inputs());
    return true;
  }

  /**
   * Claims and returns every merge that is due now: the batches the rules make of the pending nodes
   * (after a failure, or after {@link #closeAndCollapse()}). Calling it again returns nothing until
   * something changes.
   */
  public List<MergeRequest> claimDueMerges() {
    List<MergeRequest> issued = new ArrayList<>();
    if (closed) {
      collapseStep(issued);
    } else {
      int top = pending.stream().mapToInt(Node::level).max().orElse(-1);
      for (int level = 0; level <= top; level++) {
        claimLevel(level, issued);
      }
    }
    return issued;
  }

  /**
   * Closes the tree (the window closed) and returns the merges that reduce it to one node,
   * regardless of the budget; more come from {@link #completeMerge} until {@link #collapsed()}.
   * Idempotent.
   */
  public List<MergeRequest> closeAndCollapse() {
    closed = true;
    return claimDueMerges();
  }

  // ------------------------------------------------------------------------------------------------------- queries

  /** The pending nodes of every level, highest level first, then in order. */
  public List<Node> frontier() {
    return pending.stream().sorted(Comparator.comparingInt(Node::level).reversed()).toList();
  }

  /** The merges issued and not yet completed or failed. */
  public List<MergeRequest> inFlight() {
    return List.copyOf(inFlight.values());
  }

  public boolean inFlight(String mergeId) {
    return inFlight.containsKey(mergeId);
  }

  /**
   * The top: frontier and claimed inputs, highest level first: together they cover every chunk
   * exactly once.
   */
  public List<Node> top() {
    List<Node> top = new ArrayList<>(pending);
    inFlight.values().forEach(r -> top.addAll(r.inputs()));
    top.sort(Comparator.comparingInt(Node::level).reversed());
    return top;
  }

  /**
   * The synthesis of the top (frontier and claimed inputs), or empty for an empty tree. Changes
   * nothing: the synthesis is a view, the caller keeps its latest text apart from the tree.
   */
  public Optional<SynthesisRequest> synthesisRequest() {
    return synthesisOf(treeId, top(), sourceIdCap);
  }

  /**
   * The synthesis of any nodes (highest level first), named after {@code treeId}: how a tree
   * synthesizes its top, and how a caller synthesizes nodes of several trees (the all-time
   * synthesis over window syntheses).
   */
  public static Optional<SynthesisRequest> synthesisOf(
      String treeId, List<Node> top, int sourceIdCap) {
    if (top.isEmpty()) {
      return Optional.empty();
    }
    Sources sources = Sources.union(top.stream().map(Node::sources).toList(), sourceIdCap);
    if (top.size() == 1) {
      Node only = top.get(0);
      return Optional.of(new SynthesisRequest(only.id(), only.level(), top, sources));
    }
    int level = top.stream().mapToInt(Node::level).max().orElse(0) + 1;
    String id = treeId + "/S/" + hashOfIds(top);
    return Optional.of(new SynthesisRequest(id, level, top, sources));
  }

  /** Chunks covered by frontier and in-flight merges: every leaf accepted, once. */
  public long coveredChunks() {
    return top().stream().mapToLong(Node::chunks).sum();
  }

  /** Sources of frontier ∪ in-flight inputs; empty for an empty tree. */
  public Optional<Sources> coveredSources() {
    List<Node> top = top();
    return top.isEmpty()
        ? Optional.empty()
        : Optional.of(Sources.union(top.stream().map(Node::sources).toList(), sourceIdCap));
  }

  /**
   * The highest level of a node in the tree (pending or claimed); 0 for an empty tree or leaves
   * only.
   */
  public int depth() {
    return top().stream().mapToInt(Node::level).max().orElse(0);
  }

  /**
   * Input tokens of the merges issued, by request level (index 0: merges of leaves); retries count
   * again.
   */
  public List<Long> tokensSentToLlm() {
    return List.copyOf(tokensSentByLevel);
  }

  public long tokensSentToLlmTotal() {
    return tokensSentByLevel.stream().mapToLong(Long::longValue).sum();
  }

  /** Merge requests issued, retries included. */
  public long mergesIssued() {
    return mergesIssued;
  }

  /** Merges failed so far. */
  public long failures() {
    return failures;
  }

  /** Tokens of the leaves accepted (the chunk summaries). */
  public long leafTokens() {
    return leafTokens;
  }

  public boolean closed() {
    return closed;
  }

  /** Closed, nothing in flight, at most one node: the final synthesis is {@code frontier()}. */
  public boolean collapsed() {
    return closed && inFlight.isEmpty() && pending.size() <= 1;
  }

  public String treeId() {
    return treeId;
  }

  public int fanIn() {
    return fanIn;
  }

  public int mergeTokenBudget() {
    return mergeTokenBudget;
  }

  public int sourceIdCap() {
    return sourceIdCap;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MergeTree other && state().equals(other.state());
  }

  @Override
  public int hashCode() {
    return state().hashCode();
  }

  @Override
  public String toString() {
    return "MergeTree["
        + treeId
        + ", pending="
        + pending.size()
        + ", inFlight="
        + inFlight.size()
        + ", chunks="
        + coveredChunks()
        + ", depth="
        + depth()
        + (closed ? ", closed" : "")
        + "]";
  }

  // ------------------------------------------------------------------------------------------------------ internal

  /** Cuts the pending nodes of one level greedily into due batches and claims them. */
  private void claimLevel(int level, List<MergeRequest> issued) {
    List<List<Node>> due = new ArrayList<>();
    List<Node> batch = new ArrayList<>();
    long tokens = 0;
    for (Node n : pending) {
      if (n.level() != level) {
        continue;
      }
      batch.add(n);
      tokens += n.tokens();
      if (batch.size() >= 2 && (tokens >= mergeTokenBudget || batch.size() >= fanIn)) {
        due.add(batch);
        batch = new ArrayList<>();
        tokens = 0;
      }
    }
    due.forEach(b -> issued.add(claim(b)));
  }

  /**
   * Closed: k-ary Huffman on levels (max instead of sum). The items are the pending nodes and the
   * results of the merges in flight, at their future level; the lowest items are merged, fanIn at a
   * time (the first merge may take fewer, so that the last takes exactly fanIn), and the step waits
   * when a result still to come is among the lowest. The final node is then as low as any tree of
   * fan-in fanIn over these items can be: the smallest h with sum(fanIn^level) <= fanIn^h (Kraft).
   * Merges that do not wait on each other are issued together. Prunes once one node is left.
   */
  private void collapseStep(List<MergeRequest> issued) {
    while (true) {
      List<Node> claimable = pending.stream().sorted(Comparator.comparingInt(Node::level)).toList();
      List<Integer> future = inFlight.values().stream().map(r -> r.level() + 1).sorted().toList();
      int items = claimable.size() + future.size();
      if (items < 2) {
        break;
      }
      // k-ary Huffman: one short merge first if needed, so that every later merge takes exactly
      // fanIn items
      int take = (items - 1) % (fanIn - 1) == 0 ? fanIn : (items - 2) % (fanIn - 1) + 2;
      int p = 0;
      int f = 0;
      while (p + f
          < take) { // the lowest `take` items; at equal levels a pending node before a result to
        // come
        if (f < future.size()
            && (p >= claimable.size() || future.get(f) < claimable.get(p).level())) {
          f++;
        } else {
          p++;
        }
      }
      if (f > 0) {
        break; // one of the lowest is still being written
      }
      issued.add(claim(claimable.subList(0, take)));
    }
    if (collapsed()) {
      leafIds.clear(); // pruned: a closed tree takes no leaves, so their ids are no longer needed
    }
  }

  private MergeRequest claim(List<Node> inputs) {
    int level = inputs.stream().mapToInt(Node::level).max().orElseThrow();
    String nodeId = treeId + "/L" + (level + 1) + "/" + hashOfIds(inputs);
    String mergeId = failures == 0 ? nodeId : nodeId + "~f" + failures;
    MergeRequest request = new MergeRequest(mergeId, nodeId, level, inputs);
    Set<String> claimed = new HashSet<>();
    inputs.forEach(n -> claimed.add(n.id()));
    pending.removeIf(n -> claimed.contains(n.id()));
    inFlight.put(mergeId, request);
    mergesIssued++;
    while (tokensSentByLevel.size() <= level) {
      tokensSentByLevel.add(0L);
    }
    tokensSentByLevel.set(level, tokensSentByLevel.get(level) + request.inputTokens());
    return request;
  }

  /** 128 bits of SHA-256 over the sorted ids, joined by newlines. */
  private static String hashOfIds(List<Node> nodes) {
    String joined = String.join("\n", nodes.stream().map(Node::id).sorted().toList());
    return HEX.formatHex(sha256(joined), 0, 16);
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private static String requireText(String value, String what) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(what + " must not be blank");
    }
    return value;
  }
}
