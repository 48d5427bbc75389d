package dev.llmstreams.specialist;

import dev.llmstreams.events.LabelEvent;
import dev.llmstreams.events.ModelPromotion;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.PromotionGate;
import dev.llmstreams.specialist.model.TextClassifier;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.topics.RejectedRecordException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer: the one task that sees every label (they reach it through a one-partition
 * repartition topic). It keeps each example once, by eventId or by a digest of its text, counts the
 * new ones, and once enough arrived (or some waited long enough) trains a candidate on a background
 * executor. The candidate and the model in service are scored on the same held-out examples (chosen
 * by a hash of the text, so always the same ones), and only on those labelled after the model in
 * service was built: a model trained on all the data by {@code train --publish} has seen the older
 * ones, and would win every comparison on them. The promotion gate ({@link PromotionGate}) decides;
 * from the tick, inside the task's exactly-once transaction, a promoted candidate is published on
 * {@code specialist-models} under its name and a rejected one under {@code <name>/rejected}, both
 * with the decision and scores.
 */
final class Train implements Processor<String, LabelEvent, String, SpecialistModel> {
  private static final Logger LOG = LoggerFactory.getLogger(Train.class);
  static final String STATE_KEY = "trainer";

  /**
   * One labelled example; a person's label replaces an LLM's for the same event, never the other
   * way round.
   *
   * @param atMs when it was labelled (0 in examples stored before this field existed: treated as
   *     old)
   */
  record Example(String text, String label, LabelEvent.Source source, long atMs) {}

  /** What the trainer has to remember beside the examples. */
  record State(long newExamples, long lastTrainingAtMs, long examples) {}

  /**
   * A finished retraining, handed back to the stream thread; {@code examplesUsed}: the new examples
   * it took in.
   */
  private record Outcome(
      SpecialistModel publish, String key, String outcome, String summary, long examplesUsed) {}

  /** Who the trainer's decisions name. */
  static final String DECIDED_BY = "trainer";

  private final SpecialistTopology.Settings settings;
  private final CurrentModel current;
  private final ModelRetrainer retrainer;
  private final Executor executor;
  private final SpecialistMeters meters;
  private final ConcurrentLinkedQueue<Outcome> done = new ConcurrentLinkedQueue<>();
  private ProcessorContext<String, SpecialistModel> context;
  private KeyValueStore<String, Example> examples;
  private KeyValueStore<String, State> state;
  private boolean training;

  Train(
      SpecialistTopology.Settings settings,
      CurrentModel current,
      ModelRetrainer retrainer,
      Executor executor,
      SpecialistMeters meters) {
    this.settings = settings;
    this.current = current;
    this.retrainer = retrainer;
    this.executor = executor;
    this.meters = meters;
  }

  /**
   * The key an example is kept under: its eventId, or for an example with no event a digest of its
   * text.
   */
  static String exampleKey(String eventId, String text) {
    return eventId != null ? "event:" + eventId : "text:" + sha256(text);
  }

  /**
   * True for the examples kept out of training to compare models: a fixed share, chosen by the text
   * alone.
   */
  static boolean heldOut(String text, int percent) {
    byte[] d = sha256Bytes(text);
    int bucket = ((d[0] & 0xff) << 8 | (d[1] & 0xff)) % 100;
    return bucket < percent;
  }

  @Override
  public void init(ProcessorContext<String, SpecialistModel> context) {
    this.context = context;
    this.examples = context.getStateStore(SpecialistTopology.EXAMPLES_STORE);
    this.state = context.getStateStore(SpecialistTopology.TRAINER_STORE);
    context.schedule(
        Duration.ofMillis(settings.tickMs()), PunctuationType.WALL_CLOCK_TIME, this::tick);
  }

  @Override
  public void process(Record<String, LabelEvent> record) {
    if (record.value() == null) {
      throw new RejectedRecordException("a label with no value (tombstone) teaches nothing");
    }
    // The repartition keeps the labels record's timestamp: a label without its own time takes it.
    LabelEvent label = record.value().atRecordTime(record.timestamp());
    settings.requireText("label '" + label.label() + "'", label.text());
    if (!settings.learnFrom().contains(label.source())) {
      meters.notLearned(label.source()).increment();
      return; // specialist.learn.from leaves this source out: neither trained on nor judged by
    }
    String key = record.key() != null ? record.key() : exampleKey(label.eventId(), label.text());
    Example known = examples.get(key);
    if (known != null
        && (known.label().equals(label.label()) || known.source().outranks(label.source()))) {
      // the same label again, or an LLM's answer where a person already said (the offline
      // engine's where either did)
      return;
    }
    examples.put(
        key, new Example(label.text(), label.label(), label.source(), label.at().toEpochMilli()));
    // Only labels given after the model in service was built are new to it (a data set published
    // with the model is not)
    SpecialistModel serving = current.record();
    boolean fresh = serving == null || label.at().isAfter(serving.createdAt());
    State s = state();
    state.put(
        STATE_KEY,
        new State(
            s.newExamples() + (fresh ? 1 : 0),
            s.lastTrainingAtMs(),
            s.examples() + (known == null ? 1 : 0)));
  }

  private State state() {
    State s = state.get(STATE_KEY);
    return s != null ? s : new State(0, context.currentSystemTimeMs(), 0);
  }

  private void tick(long now) {
    deliver();
    forgetOldestExamples();
    State s = state();
    boolean due =
        s.newExamples() >= settings.retrainAfterLabels()
            || (s.newExamples() > 0 && now - s.lastTrainingAtMs() >= settings.retrainIntervalMs());
    if (!training && due) {
      start(s, now);
      deliver(); // an executor that runs the work at once (tests) has the outcome ready now
    }
  }

  private void start(State s, long now) {
    SpecialistModel base = current.record();
    long servingSince = base == null ? Long.MIN_VALUE : base.createdAt().toEpochMilli();
    List<LabeledText> train = new ArrayList<>();
    List<LabeledText> holdout = new ArrayList<>();
    try (KeyValueIterator<String, Example> it = examples.all()) {
      while (it.hasNext()) {
        Example e = it.next().value;
        if (!heldOut(e.text(), settings.holdoutPercent())) {
          train.add(new LabeledText(e.text(), e.label()));
        } else if (e.atMs()
            > servingSince) { // unseen by the model in service, so the comparison is fair
          holdout.add(new LabeledText(e.text(), e.label()));
        }
      }
    }
    TextClassifier serving = current.get();
    long used = s.newExamples();
    training = true;
    LOG.info(
        "specialist: retraining model {} on {} examples ({} held out to compare with {})",
        current.name(),
        train.size(),
        holdout.size(),
        serving == null ? "no model" : "version " + serving.version());
    try {
      executor.execute(() -> done.add(retrain(train, holdout, base, serving, used, now)));
    } catch (RejectedExecutionException e) {
      training = false;
    }
  }

  /**
   * Runs on the executor: trains, scores both models on the held-out examples, and lets the
   * promotion gate decide (see {@link PromotionGate}).
   */
  private Outcome retrain(
      List<LabeledText> train,
      List<LabeledText> holdout,
      SpecialistModel base,
      TextClassifier serving,
      long used,
      long startedAtMs) {
    try {
      if (current.trust().verifies() && !current.trust().signs()) {
        return new Outcome(
            null,
            null,
            "failed",
            "this instance serves only signed models but has no signing key"
                + " (specialist.models.signing.key.file): a retrained model would be refused",
            used);
      }
      PromotionGate gate = settings.gate();
      if (train.isEmpty() || (serving != null && holdout.size() < gate.minExamples())) {
        // Decided before training: a candidate could not be compared, so none is built.
        return new Outcome(
            null,
            null,
            "rejected",
            String.format(
                Locale.ROOT,
                "too few examples to train and compare (%d to train, %d held out and labelled after"
                    + " the model in service was built; specialist.promotion.min.examples is %d)",
                train.size(),
                holdout.size(),
                gate.minExamples()),
            used);
      }
      ModelRetrainer.Candidate candidate = retrainer.retrain(train, base);
      if (!current.name().equals(candidate.record().name())) {
        return new Outcome(
            null,
            null,
            "failed",
            "the retrainer built model " + candidate.record().name() + ", not " + current.name(),
            used);
      }
      // Examples of the candidate's out-of-scope label are judged as such for both models.
      String outOfScope = TrainingOptions.outOfScopeLabelOf(candidate.record().config());
      ModelPromotion.Scores challenger =
          holdout.isEmpty()
              ? null
              : PromotionGate.score(
                  candidate.model(), holdout, settings.thresholdFor(candidate.model()), outOfScope);
      ModelPromotion.Scores incumbent =
          serving == null
              ? null
              : PromotionGate.score(serving, holdout, settings.thresholdFor(serving), outOfScope);
      ModelPromotion decision =
          gate.decide(
              challenger,
              incumbent,
              serving == null ? null : serving.version(),
              holdout.size(),
              java.time.Instant.ofEpochMilli(startedAtMs),
              DECIDED_BY);
      // Sealed here, off the stream thread: digest, and signature when this instance has the key.
      // The decision rides beside the seal, outside the digest.
      SpecialistModel sealed = current.trust().seal(candidate.record()).withPromotion(decision);
      String summary = "candidate " + candidate.record().version() + ": " + decision.reason();
      return decision.decision() == ModelPromotion.Decision.PROMOTED
          ? new Outcome(sealed, sealed.name(), "published", summary, used)
          : new Outcome(
              sealed, SpecialistModel.rejectedKey(sealed.name()), "rejected", summary, used);
    } catch (RuntimeException e) {
      return new Outcome(null, null, "failed", String.valueOf(e.getMessage()), used);
    }
  }

  /**
   * Keeps the examples under {@code specialist.examples.max}: beyond it the oldest by label time
   * are forgotten, down to 90% of it, so that the scan runs once per tenth of the cap of new
   * examples, not on every tick.
   */
  private void forgetOldestExamples() {
    State s = state();
    if (s.examples() <= settings.maxExamples()) {
      return;
    }
    List<KeyValue<String, Long>> all = new ArrayList<>();
    try (KeyValueIterator<String, Example> it = examples.all()) {
      while (it.hasNext()) {
        KeyValue<String, Example> e = it.next();
        all.add(KeyValue.pair(e.key, e.value.atMs()));
      }
    }
    int keep = (int) (settings.maxExamples() * 9L / 10);
    int forget = Math.max(0, all.size() - keep);
    all.sort(Comparator.comparingLong(kv -> kv.value));
    all.subList(0, forget).forEach(kv -> examples.delete(kv.key));
    state.put(STATE_KEY, new State(s.newExamples(), s.lastTrainingAtMs(), all.size() - forget));
    LOG.info(
        "specialist: forgot the {} oldest labelled examples; {} kept (specialist.examples.max is {})",
        forget,
        all.size() - forget,
        settings.maxExamples());
  }

  /**
   * Hands finished retrainings on: a better candidate goes to specialist-models in this task's
   * transaction.
   */
  private void deliver() {
    Outcome o;
    while ((o = done.poll()) != null) {
      training = false;
      // Only now are the examples no longer new: a retraining lost to a crash or a move of the task
      // runs again.
      State s = state();
      state.put(
          STATE_KEY,
          new State(
              Math.max(0, s.newExamples() - o.examplesUsed()),
              context.currentSystemTimeMs(),
              s.examples()));
      meters.retrained(o.outcome());
      if (o.outcome().equals("published")) {
        LOG.info(
            "specialist: publishing model {} version {}: {}",
            current.name(),
            o.publish().version(),
            o.summary());
      } else if (o.outcome().equals("failed")) {
        LOG.warn(
            "specialist: retraining model {} failed: {}; the model in service stays",
            current.name(),
            o.summary());
      } else {
        LOG.info("specialist: candidate rejected, the model in service stays: {}", o.summary());
      }
      if (o.publish() != null) {
        // A promoted model under its name (every instance swaps to it); a rejected one under
        // <name>/rejected, where people see it and its scores and nothing serves it.
        context.forward(new Record<>(o.key(), o.publish(), context.currentSystemTimeMs()));
      }
    }
  }

  @Override
  public void close() {
    done.clear(); // a retraining still running is dropped; its examples still count as new for the
    // next owner
  }

  private static String sha256(String text) {
    return HexFormat.of().formatHex(sha256Bytes(text));
  }

  private static byte[] sha256Bytes(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
