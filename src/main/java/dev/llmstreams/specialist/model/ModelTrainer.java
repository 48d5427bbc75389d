package dev.llmstreams.specialist.model;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.runtime.text.EncoderModel;
import dev.llmstreams.runtime.text.SentenceEncoder;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Trains a specialist. Each member learns once per cross-validation fold (on the other folds) and
 * predicts the fold it did not see, so every example gets a held-out prediction; on those, each
 * member's temperature is fitted and then the lowest threshold that keeps the target accuracy is
 * chosen. The members are then trained on all the data with the same recipe and serve with those
 * temperatures and that threshold (with {@code folds} 0: one stratified dev split).
 *
 * <p>Softmax regression is written here rather than taken from Tribuo: Tribuo would name every
 * hashed n-gram as a String feature (about 200 strings a text on the hot path), its model files are
 * Java-serialized or its own protobuf, and it has no temperature scaling or ensembling of its own;
 * a sparse SGD softmax is about a hundred lines, deterministic, and its weights go straight into
 * the explicit binary artifact.
 */
public final class ModelTrainer {
  /**
   * The word that marks a progress line as a warning (a model that would escalate most events, an
   * out-of-scope bound that costs much coverage): the CLI prints it, the in-app retrainer logs such
   * a line at WARN.
   */
  public static final String WARNING = "WARNING";

  private ModelTrainer() {}

  /** Whether a progress line of {@link #train} is a warning. */
  public static boolean isWarning(String progressLine) {
    return progressLine.contains(WARNING + " ");
  }

  /**
   * @param progress told what training does; called from two threads when an ensemble trains
   */
  public static TrainedModel train(
      String name, List<LabeledText> examples, TrainingOptions options, Consumer<String> progress) {
    return train(name, examples, options, progress, null, Clock.systemUTC());
  }

  /**
   * @param encoder the sentence encoder of the first embedding member (null: the process-wide one
   *     of {@link SpecialistModels} for the options' encoder)
   * @param clock the record's creation time
   * @throws IllegalArgumentException when {@code encoder} is not the options' encoder
   */
  public static TrainedModel train(
      String name,
      List<LabeledText> given,
      TrainingOptions options,
      Consumer<String> progress,
      SentenceEncoder encoder,
      Clock clock) {
    long start = System.nanoTime();
    // Examples of the out-of-scope label are not a class: texts the thresholds must escalate.
    String oosLabel = options.outOfScopeLabel();
    Evaluation.Split split = Evaluation.split(given, oosLabel);
    List<LabeledText> examples = split.scored();
    List<String> knownOos = split.outOfScope();
    if (encoder != null && encoder.spec() != options.encoder()) {
      throw new IllegalArgumentException(
          "the training options embed with "
              + options.encoder().id()
              + " but the sentence encoder given is "
              + encoder.spec().id());
    }
    List<String> labels = examples.stream().map(LabeledText::label).distinct().sorted().toList();
    if (labels.size() < 2) {
      throw new IllegalArgumentException(
          "a classifier needs examples of at least two labels"
              + (oosLabel == null ? "" : " besides the out-of-scope label " + oosLabel));
    }
    if (oosLabel != null) {
      progress.accept(
          knownOos.isEmpty()
              ? "no examples labelled "
                  + oosLabel
                  + " (the out-of-scope label): only left-out labels bound what the model keeps of"
                  + " unknown events"
              : knownOos.size()
                  + " examples labelled "
                  + oosLabel
                  + " are out of scope: never trained on, at most "
                  + Math.round(options.outOfScopeKept() * 100)
                  + "% of them kept");
      java.util.Set<String> inScopeTexts =
          examples.stream().map(LabeledText::text).collect(java.util.stream.Collectors.toSet());
      long both = knownOos.stream().distinct().filter(inScopeTexts::contains).count();
      if (both > 0) {
        progress.accept(
            "texts labelled "
                + oosLabel
                + " that are also examples of a label: "
                + both
                + "; the model learns each as that label and keeps it, whatever the out-of-scope"
                + " bound says");
      }
    }
    Map<String, Integer> labelIndex = new HashMap<>();
    labels.forEach(l -> labelIndex.put(l, labelIndex.size()));
    int[] y = examples.stream().mapToInt(e -> labelIndex.get(e.label())).toArray();
    List<String> texts = examples.stream().map(LabeledText::text).toList();
    int least = Math.max(2, options.folds());
    String few = fewExamples(labels, y, least);
    if (!few.isEmpty()) {
      progress.accept(
          "labels with fewer than "
              + least
              + " examples: "
              + few
              + "; the thresholds rest on few held-out predictions of theirs, each from a model that"
              + " saw one example fewer (none, for a label of one): more examples make them surer");
    }
    ModelKind kind = options.kind();
    SentenceEncoder enc =
        encoder != null ? encoder : SpecialistModels.sharedEncoder(options.encoder());

    List<int[][]> splits = heldOutSplits(y, labels.size(), options);
    int[] heldRows = splits.stream().flatMapToInt(s -> IntStream.of(s[1])).sorted().toArray();
    String heldOut = splits.size() > 1 ? splits.size() + "-fold cross-validation" : "one dev split";
    progress.accept(
        "calibration on "
            + heldOut
            + ": "
            + heldRows.length
            + " of "
            + y.length
            + " examples predicted by models that did not train on them");

    List<int[][]> oosSplits = labelGroupSplits(y, labels.size(), options);
    // Asked for (two groups or more), but too few labels to leave any out.
    boolean oosSkipped = oosSplits.isEmpty() && options.outOfScopeGroups() >= 2;
    if (!oosSplits.isEmpty()) {
      progress.accept(
          "out-of-scope calibration: labels dealt into "
              + oosSplits.size()
              + " groups, each left out of one more training, whose predictions on its examples bound the"
              + " thresholds so that at most "
              + Math.round(options.outOfScopeKept() * 100)
              + "% of them are kept");
    } else if (oosSkipped) {
      progress.accept(
          "out-of-scope calibration skipped: "
              + labels.size()
              + " labels are too few to leave one out (it needs "
              + MIN_LABELS_OUT_OF_SCOPE
              + "); nothing bounds how many events of labels the model never saw it keeps");
    }
    Members members =
        trainMembers(kind, texts, y, splits, oosSplits, labels.size(), options, enc, progress);
    List<Member> onAll = members.onAll();
    float[][] embeddings = members.embeddings();

    int[] devY = IntStream.of(heldRows).map(i -> y[i]).toArray();
    double[][][] devLogits = new double[onAll.size()][][];
    List<Double> fitted = new ArrayList<>();
    ObjectNode temperatures = JsonNodeFactory.instance.objectNode();
    for (int m = 0; m < onAll.size(); m++) {
      double[][] heldOutLogits = members.heldOutLogits().get(m);
      devLogits[m] =
          IntStream.of(heldRows).mapToObj(i -> heldOutLogits[i]).toArray(double[][]::new);
      double t = Calibration.fitTemperature(devLogits[m], devY);
      fitted.add(t);
      temperatures.put(onAll.get(m).name(), t);
      progress.accept(
          String.format(
              "temperature of the %s model: %.3f (held-out NLL %.4f -> %.4f)",
              onAll.get(m).name(),
              t,
              Calibration.nll(devLogits[m], devY, 1),
              Calibration.nll(devLogits[m], devY, t)));
    }
    List<SpecialistClassifier.Member> finalMembers = new ArrayList<>();
    for (int m = 0; m < onAll.size(); m++) {
      finalMembers.add(new SpecialistClassifier.Member(onAll.get(m).scorer(), fitted.get(m)));
    }
    List<LabeledText> typical =
        kind == ModelKind.HASHED
            ? NearestExamples.typical(
                examples, onAll.get(0).hashedVectors(), labels, HashedFeatures.DIMENSIONS)
            : NearestExamples.typical(
                examples,
                Stream.of(embeddings).map(SparseVector::dense).toList(),
                labels,
                EmbeddingScorer.DIMENSIONS);
    SpecialistClassifier unpicked =
        new SpecialistClassifier(
            name,
            "unversioned",
            kind,
            labels,
            0,
            finalMembers,
            NearestExamples.unsearchable(typical));
    boolean cascade = kind == ModelKind.CASCADE;
    CascadeCalibration.HeldOut held = heldOut(unpicked, devLogits, devY);
    CascadeCalibration.OutOfScope outOfScope =
        members.oosLogits() == null ? null : outOfScope(unpicked, members.oosLogits());
    // The served members never trained on the known out-of-scope texts: their predictions are
    // held out as they stand.
    CascadeCalibration.OutOfScope known = null;
    if (!knownOos.isEmpty()) {
      List<double[][]> byMember = new ArrayList<>();
      for (SpecialistClassifier.Member m : finalMembers) {
        byMember.add(m.scorer().logits(knownOos));
      }
      known = outOfScope(unpicked, byMember);
    }
    CascadeCalibration.OutOfScope knownSet = known;
    // The thresholds for a target accuracy and an out-of-scope bound, on these held-out
    // predictions.
    java.util.function.BiFunction<Double, Double, CascadeCalibration.Choice> at =
        (target, bound) ->
            CascadeCalibration.choose(
                held, outOfScope, knownSet, cascade, target, bound, options.cascadeSlack());
    // What each bound would give, the chosen one among them (none without out-of-scope sets).
    List<CascadeCalibration.Point> tradeOff =
        outOfScope == null && known == null
            ? List.of()
            : CascadeCalibration.tradeOff(
                bound -> at.apply(options.targetAccuracy(), bound), options.outOfScopeKept());
    CascadeCalibration.Choice choice =
        tradeOff.stream()
            .filter(p -> p.bound() == options.outOfScopeKept())
            .map(CascadeCalibration.Point::choice)
            .findFirst()
            .orElseGet(() -> at.apply(options.targetAccuracy(), options.outOfScopeKept()));
    if (cascade) {
      progress.accept(
          String.format(
              java.util.Locale.ROOT,
              "cascade: the hashed model alone decides at confidence %.3f or more (%.1f%% of held-out"
                  + " examples), the ensemble decides the rest at %.3f or more",
              choice.stageThreshold(),
              100 * choice.firstStageShare(),
              choice.threshold()));
    }
    if (outOfScope != null) {
      progress.accept(
          TrainerReport.keptLine(
              "the left-out labels' examples", choice.outOfScopeKept(), options, choice));
    }
    if (known != null) {
      progress.accept(
          TrainerReport.keptLine(
              "the " + knownOos.size() + " examples labelled " + oosLabel,
              choice.knownOutOfScopeKept(),
              options,
              choice));
    }
    TrainerReport.tradeOffLines(
            tradeOff,
            options.outOfScopeKept(),
            cascade,
            outOfScope != null,
            known == null ? null : oosLabel)
        .forEach(progress);
    double threshold = choice.threshold();
    SpecialistClassifier unversioned =
        new SpecialistClassifier(
            name,
            "unversioned",
            kind,
            labels,
            threshold,
            choice.stageThreshold(),
            finalMembers,
            NearestExamples.unsearchable(typical));
    EvaluationReport dev = heldOutReport(unversioned, examples, heldRows, devLogits, held, choice);
    progress.accept("held out (" + heldOut + "): " + dev.summary());
    TrainerReport.lowCoverageLine(
            target -> at.apply(target, options.outOfScopeKept()),
            outOfScope != null || known != null,
            options.targetAccuracy(),
            choice,
            dev.accuracy())
        .ifPresent(progress);

    ObjectNode metrics = JsonNodeFactory.instance.objectNode();
    metrics.set("dev", dev.toJson());
    metrics.put("heldOut", heldOut);
    metrics.set("temperatures", temperatures);
    metrics.put("recommendedThreshold", threshold);
    if (cascade) {
      metrics.put("stageThreshold", choice.stageThreshold());
      metrics.put("firstStageShare", choice.firstStageShare());
    }
    if (outOfScope != null) {
      ObjectNode oos = metrics.putObject("outOfScope");
      oos.put("groups", oosSplits.size());
      oos.put("keptTarget", options.outOfScopeKept());
      oos.put("kept", choice.outOfScopeKept());
      oos.put("examples", outOfScope.finalConfidence().length);
    } else if (oosSkipped) {
      metrics
          .putObject("outOfScope")
          .put("groups", 0)
          .put("skipped", "fewer than " + MIN_LABELS_OUT_OF_SCOPE + " labels");
    }
    if (known != null) {
      ObjectNode oos =
          metrics.get("outOfScope") instanceof ObjectNode o ? o : metrics.putObject("outOfScope");
      oos.put("keptTarget", options.outOfScopeKept());
      oos.putObject("labelled")
          .put("label", oosLabel)
          .put("examples", knownOos.size())
          .put("kept", choice.knownOutOfScopeKept());
    }
    if (!tradeOff.isEmpty()) {
      ObjectNode oos = (ObjectNode) metrics.get("outOfScope");
      oos.put("coverageWithoutBound", tradeOff.get(tradeOff.size() - 1).choice().coverage());
      ArrayNode points = oos.putArray("tradeOff");
      for (CascadeCalibration.Point p : tradeOff) {
        CascadeCalibration.Choice c = p.choice();
        ObjectNode o = points.addObject().put("keptTarget", p.bound());
        if (outOfScope != null) {
          o.put("kept", c.outOfScopeKept());
        }
        if (known != null) {
          o.put("labelledKept", c.knownOutOfScopeKept());
        }
        o.put("coverage", c.coverage())
            .put("accuracy", c.accuracy())
            .put("threshold", c.threshold());
        if (cascade) {
          o.put("stageThreshold", c.stageThreshold()).put("firstStageShare", c.firstStageShare());
        }
      }
    }
    metrics.put("trainingExamples", examples.size());
    metrics.put("trainingSeconds", Math.round((System.nanoTime() - start) / 1e7) / 100.0);
    SpecialistModel record =
        SpecialistModels.encode(
            unversioned, clock.instant(), LabeledData.digest(given), metrics, options.toJson());
    progress.accept(
        String.format(
            "model %s %s: artifact %d bytes, record %d bytes",
            name,
            record.version(),
            java.util.Base64.getDecoder().decode(record.artifact()).length,
            SpecialistModels.recordBytes(record)));
    return new TrainedModel(
        SpecialistModels.load(
            record, e -> e == enc.spec() ? enc : SpecialistModels.sharedEncoder(e)),
        record,
        dev);
  }

  /**
   * The held-out predictions of the models that did not train on them: the first member's own
   * calibrated confidence (a cascade's first stage) and the averaged model's.
   */
  private static CascadeCalibration.HeldOut heldOut(
      SpecialistClassifier model, double[][][] devLogits, int[] devY) {
    int n = devY.length;
    double[] c1 = new double[n];
    boolean[] k1 = new boolean[n];
    double[] c2 = new double[n];
    boolean[] k2 = new boolean[n];
    for (int i = 0; i < n; i++) {
      double[] first = model.firstStage(devLogits[0][i]);
      int b1 = SpecialistClassifier.best(first);
      c1[i] = first[b1];
      k1[i] = b1 == devY[i];
      double[] p = model.probabilities(memberLogits(devLogits, i));
      int b2 = SpecialistClassifier.best(p);
      c2[i] = p[b2];
      k2[i] = b2 == devY[i];
    }
    return new CascadeCalibration.HeldOut(c1, k1, c2, k2);
  }

  /** The confidences of the models that never saw the examples' labels. */
  private static CascadeCalibration.OutOfScope outOfScope(
      SpecialistClassifier model, List<double[][]> oosLogits) {
    int n = oosLogits.get(0).length;
    double[] c1 = new double[n];
    double[] c2 = new double[n];
    double[][][] byMember = oosLogits.toArray(double[][][]::new);
    for (int i = 0; i < n; i++) {
      double[] first = model.firstStage(byMember[0][i]);
      c1[i] = first[SpecialistClassifier.best(first)];
      double[] p = model.probabilities(memberLogits(byMember, i));
      c2[i] = p[SpecialistClassifier.best(p)];
    }
    return new CascadeCalibration.OutOfScope(c1, c2);
  }

  /**
   * The held-out predictions scored as a test would score them (in a cascade, a text the first
   * stage is sure of gets its label); the speed is the served model's, one event at a time, on up
   * to {@value #SPEED_SAMPLE} of the examples, evenly spaced.
   */
  private static EvaluationReport heldOutReport(
      SpecialistClassifier model,
      List<LabeledText> examples,
      int[] heldRows,
      double[][][] devLogits,
      CascadeCalibration.HeldOut held,
      CascadeCalibration.Choice choice) {
    String[] predicted = new String[heldRows.length];
    double[] confidence = new double[heldRows.length];
    String[] stage = new String[heldRows.length];
    boolean[] settled = new boolean[heldRows.length];
    boolean cascade = model.kind() == ModelKind.CASCADE;
    for (int i = 0; i < heldRows.length; i++) {
      if (cascade && held.firstConfidence()[i] >= choice.stageThreshold()) {
        double[] first = model.firstStage(devLogits[0][i]);
        predicted[i] = model.labels().get(SpecialistClassifier.best(first));
        confidence[i] = first[SpecialistClassifier.best(first)];
        stage[i] = ModelKind.HASHED.id();
        settled[i] = true;
      } else {
        double[] p = model.probabilities(memberLogits(devLogits, i));
        int best = SpecialistClassifier.best(p);
        predicted[i] = model.labels().get(best);
        confidence[i] = p[best];
        stage[i] = cascade ? ModelKind.ENSEMBLE.id() : model.kind().id();
      }
    }
    List<LabeledText> held0 = IntStream.of(heldRows).mapToObj(examples::get).toList();
    double speed = heldOutSpeed(model, held0, cascade ? held.firstConfidence() : null, choice);
    return Evaluation.report(
        model.labels(), held0, predicted, confidence, stage, settled, choice.threshold(), speed);
  }

  /**
   * Events a second the served model labels, one text at a time, on up to {@value #SPEED_SAMPLE}
   * held-out examples, evenly spaced (training files are often grouped by label, and the first few
   * labels alone would time one stage of a cascade). The served model trained on these texts, so a
   * cascade's first stage would be sure of nearly all of them: each text takes the stages its
   * held-out prediction took ({@code firstConfidence}; null: not a cascade), as a new text would.
   */
  private static double heldOutSpeed(
      SpecialistClassifier model,
      List<LabeledText> held,
      double[] firstConfidence,
      CascadeCalibration.Choice choice) {
    int sample = Math.min(SPEED_SAMPLE, held.size());
    int[] rows = IntStream.range(0, sample).map(i -> i * held.size() / sample).toArray();
    return Evaluation.timed(
            rows.length,
            i ->
                model.predict(
                    held.get(rows[i]).text(),
                    firstConfidence == null
                        ? null
                        : firstConfidence[rows[i]] >= choice.stageThreshold()))
        .eventsPerS();
  }

  private static final int SPEED_SAMPLE = 500;

  private static double[][] memberLogits(double[][][] logitsByMember, int row) {
    double[][] out = new double[logitsByMember.length][];
    for (int m = 0; m < out.length; m++) {
      out[m] = logitsByMember[m][row];
    }
    return out;
  }

  /**
   * Each member trained once per split (its logits on the split's held-out rows kept, indexed by
   * row), once per label group left out (its logits on that group's rows kept: out of scope; null
   * without groups) and once on all rows (to serve).
   */
  private record Members(
      List<Member> onAll,
      List<double[][]> heldOutLogits,
      List<double[][]> oosLogits,
      float[][] embeddings) {}

  private static Members trainMembers(
      ModelKind kind,
      List<String> texts,
      int[] y,
      List<int[][]> splits,
      List<int[][]> oosSplits,
      int classes,
      TrainingOptions options,
      SentenceEncoder encoder,
      Consumer<String> progress) {
    int[] allRows = IntStream.range(0, y.length).toArray();
    List<Member> onAll = new ArrayList<>();
    List<double[][]> heldOut = new ArrayList<>();
    List<double[][]> oos = oosSplits.isEmpty() ? null : new ArrayList<>();
    float[][] embeddings = null;
    ExecutorService hashedTraining =
        Executors.newSingleThreadExecutor(r -> new Thread(r, "specialist-hashed-training"));
    try {
      Future<Member> hashed = null;
      double[][] hashedHeldOut = new double[y.length][];
      double[][] hashedOos = new double[y.length][];
      if (kind != ModelKind.EMBEDDING) {
        hashed =
            hashedTraining.submit(
                () -> {
                  for (int[][] split : splits) {
                    Member m = hashed(texts, y, split[0], classes, options, progress);
                    IntStream.of(split[1]).forEach(i -> hashedHeldOut[i] = m.rowLogits().apply(i));
                  }
                  for (int[][] split : oosSplits) {
                    Member m = hashed(texts, y, split[0], classes, options, progress);
                    IntStream.of(split[1]).forEach(i -> hashedOos[i] = m.rowLogits().apply(i));
                  }
                  return hashed(texts, y, allRows, classes, options, progress);
                });
      }
      if (kind != ModelKind.HASHED) {
        // The hashed member trains on the other core meanwhile: the sentence encoder runs on one
        // thread. One embedding member per encoder, in the options' order (the first one's
        // embeddings also place the nearest examples).
        for (EncoderModel e : options.encoders()) {
          SentenceEncoder enc = e == encoder.spec() ? encoder : SpecialistModels.sharedEncoder(e);
          progress.accept("embedding " + texts.size() + " texts with " + e.id());
          TrainerReport.Every every = new TrainerReport.Every(progress);
          long began = System.nanoTime();
          float[][] vectors =
              enc.embed(
                  texts,
                  SentenceEncoder.BATCH,
                  done ->
                      every.accept(
                          () ->
                              String.format(
                                  java.util.Locale.ROOT,
                                  "embedding with %s: %d of %d texts (%.0f a second)",
                                  e.id(),
                                  done,
                                  texts.size(),
                                  done / ((System.nanoTime() - began) / 1e9))));
          if (embeddings == null) {
            embeddings = vectors;
          }
          double[][] embeddingHeldOut = new double[y.length][];
          for (int[][] split : splits) {
            Member m = embedding(vectors, y, split[0], classes, options, enc, progress);
            IntStream.of(split[1]).forEach(i -> embeddingHeldOut[i] = m.rowLogits().apply(i));
          }
          double[][] embeddingOos = new double[y.length][];
          for (int[][] split : oosSplits) {
            Member m = embedding(vectors, y, split[0], classes, options, enc, progress);
            IntStream.of(split[1]).forEach(i -> embeddingOos[i] = m.rowLogits().apply(i));
          }
          onAll.add(embedding(vectors, y, allRows, classes, options, enc, progress));
          heldOut.add(embeddingHeldOut);
          if (oos != null) {
            oos.add(embeddingOos);
          }
        }
      }
      if (hashed != null) {
        // Hashed first: the artifact lists members in this order (and a cascade asks it first).
        onAll.add(0, hashed.get());
        heldOut.add(0, hashedHeldOut);
        if (oos != null) {
          oos.add(0, hashedOos);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("training interrupted", e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r
          ? r
          : new IllegalStateException(e.getCause());
    } finally {
      hashedTraining.shutdownNow();
    }
    return new Members(onAll, heldOut, oos, embeddings);
  }

  /**
   * A member trained on some rows, with the logits of any row from vectors already computed, and
   * (hashed member) the vectors of all rows.
   */
  private record Member(
      String name,
      Scorer scorer,
      IntFunction<double[]> rowLogits,
      List<SparseVector> hashedVectors) {}

  private static Member hashed(
      List<String> texts,
      int[] y,
      int[] rows,
      int classes,
      TrainingOptions options,
      Consumer<String> progress) {
    HashedFeatures features = HashedFeatures.fit(IntStream.of(rows).mapToObj(texts::get).toList());
    List<SparseVector> vectors = texts.stream().map(features::vector).toList();
    SgdRecipe r = options.hashed();
    TrainerReport.Every every = new TrainerReport.Every(progress);
    String of = rows.length == y.length ? "all " + rows.length : Integer.toString(rows.length);
    SoftmaxRegression head =
        SoftmaxRegression.train(
                IntStream.of(rows).mapToObj(vectors::get).toList(),
                IntStream.of(rows).map(i -> y[i]).toArray(),
                HashedFeatures.DIMENSIONS,
                classes,
                r,
                options.seed(),
                epoch ->
                    every.accept(
                        () ->
                            "hashed model on "
                                + of
                                + " examples: epoch "
                                + epoch
                                + "/"
                                + r.epochs()))
            .quantized();
    return new Member(
        "hashed", new HashedScorer(features, head), i -> head.logits(vectors.get(i)), vectors);
  }

  private static Member embedding(
      float[][] embeddings,
      int[] y,
      int[] rows,
      int classes,
      TrainingOptions options,
      SentenceEncoder encoder,
      Consumer<String> progress) {
    float[][] std =
        EmbeddingScorer.standardization(
            IntStream.of(rows).mapToObj(i -> embeddings[i]).toArray(float[][]::new));
    SgdRecipe r = options.embedding();
    TrainerReport.Every every = new TrainerReport.Every(progress);
    String of = rows.length == y.length ? "all " + rows.length : Integer.toString(rows.length);
    SoftmaxRegression head =
        SoftmaxRegression.train(
                IntStream.of(rows)
                    .mapToObj(i -> EmbeddingScorer.input(embeddings[i], std[0], std[1]))
                    .toList(),
                IntStream.of(rows).map(i -> y[i]).toArray(),
                EmbeddingScorer.DIMENSIONS,
                classes,
                r,
                options.seed(),
                epoch ->
                    every.accept(
                        () ->
                            "embedding head on "
                                + of
                                + " examples: epoch "
                                + epoch
                                + "/"
                                + r.epochs()))
            .quantized();
    return new Member(
        // The first encoder's member keeps the name it always had in the metrics' temperatures.
        encoder.spec() == options.encoder() ? "embedding" : "embedding/" + encoder.spec().id(),
        new EmbeddingScorer(encoder, std[0], std[1], head),
        i -> head.logits(EmbeddingScorer.input(embeddings[i], std[0], std[1])),
        null);
  }

  /**
   * {train rows, held-out rows} pairs: with {@code folds} of 2 or more, stratified folds (each row
   * held out once); otherwise one dev split.
   */
  static List<int[][]> heldOutSplits(int[] y, int classes, TrainingOptions options) {
    return options.folds() >= 2
        ? stratifiedFolds(y, classes, options.folds(), options.seed())
        : List.<int[][]>of(stratifiedSplit(y, classes, options.devFraction(), options.seed()));
  }

  /** The labels with fewer than {@code least} examples, each with its count ("" when none). */
  static String fewExamples(List<String> labels, int[] y, int least) {
    int[] counts = new int[labels.size()];
    for (int label : y) {
      counts[label]++;
    }
    List<String> few =
        IntStream.range(0, counts.length)
            .filter(k -> counts[k] < least)
            .mapToObj(k -> labels.get(k) + " (" + counts[k] + ")")
            .toList();
    // A long list would hide the rest of the log: the first ones in label order, then a count.
    return few.size() <= FEW_NAMED
        ? String.join(", ", few)
        : String.join(", ", few.subList(0, FEW_NAMED))
            + " and "
            + (few.size() - FEW_NAMED)
            + " more of "
            + few.size();
  }

  /** How many labels with too few examples train names before it counts the rest. */
  static final int FEW_NAMED = 10;

  /**
   * Labels the out-of-scope calibration needs: one left out, and two for its model to tell apart.
   */
  static final int MIN_LABELS_OUT_OF_SCOPE = 3;

  /**
   * {train rows, left-out rows} pairs, one per group of labels: the labels in a seeded shuffle
   * dealt round-robin into {@code outOfScopeGroups} groups (as many as there are labels when they
   * are fewer: each label is then left out on its own); a group's examples are left out of its
   * training (so its model never saw those labels) and are the ones it predicts. Empty when the
   * calibration is off or there are fewer than {@value #MIN_LABELS_OUT_OF_SCOPE} labels.
   */
  static List<int[][]> labelGroupSplits(int[] y, int classes, TrainingOptions options) {
    if (options.outOfScopeGroups() < 2 || classes < MIN_LABELS_OUT_OF_SCOPE) {
      return List.of();
    }
    int groups = Math.min(options.outOfScopeGroups(), classes);
    List<Integer> order = new ArrayList<>(IntStream.range(0, classes).boxed().toList());
    Collections.shuffle(order, new Random(options.seed() + 1));
    int[] groupOf = new int[classes];
    for (int k = 0; k < classes; k++) {
      groupOf[order.get(k)] = k % groups;
    }
    List<int[][]> splits = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      int left = g;
      splits.add(
          new int[][] {
            IntStream.range(0, y.length).filter(i -> groupOf[y[i]] != left).toArray(),
            IntStream.range(0, y.length).filter(i -> groupOf[y[i]] == left).toArray()
          });
    }
    return splits;
  }

  /**
   * Per label, a seeded shuffle dealt round-robin into {@code folds} folds, so every fold has its
   * share of every label (a label with fewer examples than folds is missing from some); fold f is
   * held out of split f.
   */
  static List<int[][]> stratifiedFolds(int[] y, int classes, int folds, long seed) {
    Random random = new Random(seed);
    int[] fold = new int[y.length];
    int next = 0;
    for (int k = 0; k < classes; k++) {
      int label = k;
      List<Integer> rows =
          new ArrayList<>(IntStream.range(0, y.length).filter(i -> y[i] == label).boxed().toList());
      Collections.shuffle(rows, random);
      for (int row : rows) {
        fold[row] =
            next++ % folds; // continuing across labels, so small labels do not all land in fold 0
      }
    }
    List<int[][]> splits = new ArrayList<>();
    for (int f = 0; f < folds; f++) {
      int held = f;
      splits.add(
          new int[][] {
            IntStream.range(0, y.length).filter(i -> fold[i] != held).toArray(),
            IntStream.range(0, y.length).filter(i -> fold[i] == held).toArray()
          });
    }
    return splits;
  }

  /**
   * Row indices {train, dev}: per label, a seeded shuffle and the first devFraction of it (at least
   * one of two).
   */
  static int[][] stratifiedSplit(int[] y, int classes, double devFraction, long seed) {
    Random random = new Random(seed);
    List<Integer> train = new ArrayList<>();
    List<Integer> dev = new ArrayList<>();
    for (int k = 0; k < classes; k++) {
      int label = k;
      List<Integer> rows =
          new ArrayList<>(IntStream.range(0, y.length).filter(i -> y[i] == label).boxed().toList());
      Collections.shuffle(rows, random);
      int held = rows.size() < 2 ? 0 : Math.max(1, (int) Math.round(devFraction * rows.size()));
      dev.addAll(rows.subList(0, held));
      train.addAll(rows.subList(held, rows.size()));
    }
    Collections.sort(train);
    Collections.sort(dev);
    return new int[][] {
      train.stream().mapToInt(Integer::intValue).toArray(),
      dev.stream().mapToInt(Integer::intValue).toArray()
    };
  }
}
