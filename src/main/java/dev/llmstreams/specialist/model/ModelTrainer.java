package dev.llmstreams.specialist.model;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.llm.offline.SentenceEncoder;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * Trains a specialist. The members learn on the training data less a stratified dev split; on the dev split each
 * member's temperature is fitted and then the lowest threshold that keeps the target accuracy is chosen; the members
 * are then trained again on all the data with the same recipe, temperatures and threshold carried over.
 *
 * <p>Softmax regression is written here rather than taken from Tribuo: Tribuo would name every hashed n-gram as a
 * String feature (about 200 strings a text on the hot path), its model files are Java-serialized or its own
 * protobuf, and it has no temperature scaling or ensembling of its own; a sparse SGD softmax is about a hundred lines,
 * deterministic, and its weights go straight into the explicit binary artifact.
 */
public final class ModelTrainer {
  private ModelTrainer() {}

  public static TrainedModel train(String name, List<LabeledText> examples, TrainingOptions options,
      Consumer<String> progress) {
    return train(name, examples, options, progress, null, Clock.systemUTC());
  }

  /**
   * @param encoder the sentence encoder of embedding models (null: the process-wide one of {@link SpecialistModels})
   * @param clock the record's creation time
   */
  public static TrainedModel train(String name, List<LabeledText> examples, TrainingOptions options,
      Consumer<String> progress, SentenceEncoder encoder, Clock clock) {
    long start = System.nanoTime();
    List<String> labels = examples.stream().map(LabeledText::label).distinct().sorted().toList();
    if (labels.size() < 2) {
      throw new IllegalArgumentException("a classifier needs examples of at least two labels");
    }
    Map<String, Integer> labelIndex = new HashMap<>();
    labels.forEach(l -> labelIndex.put(l, labelIndex.size()));
    int[] y = examples.stream().mapToInt(e -> labelIndex.get(e.label())).toArray();
    List<String> texts = examples.stream().map(LabeledText::text).toList();
    ModelKind kind = options.kind();
    SentenceEncoder enc = encoder != null ? encoder : SpecialistModels.sharedEncoder();

    float[][] embeddings = null;
    if (kind != ModelKind.HASHED) {
      progress.accept("embedding " + texts.size() + " texts with MiniLM");
      embeddings = enc.embed(texts);
    }
    int[][] split = stratifiedSplit(y, labels.size(), options.devFraction(), options.seed());
    int[] trainRows = split[0];
    int[] devRows = split[1];
    progress.accept("dev split: " + devRows.length + " of " + y.length + " examples held out");

    Members onTrainSplit = members(kind, texts, embeddings, y, trainRows, labels.size(), options, enc, progress);
    double[][][] devLogits = onTrainSplit.logits(texts, embeddings, devRows);
    int[] devY = IntStream.of(devRows).map(i -> y[i]).toArray();
    List<SpecialistClassifier.Member> calibrated = new ArrayList<>();
    ObjectNode temperatures = JsonNodeFactory.instance.objectNode();
    for (int m = 0; m < onTrainSplit.scorers.size(); m++) {
      double t = Calibration.fitTemperature(devLogits[m], devY);
      calibrated.add(new SpecialistClassifier.Member(onTrainSplit.scorers.get(m), t));
      temperatures.put(memberName(onTrainSplit.scorers.get(m)), t);
      progress.accept(String.format("temperature of the %s model: %.3f (dev NLL %.4f -> %.4f)",
          memberName(onTrainSplit.scorers.get(m)), t, Calibration.nll(devLogits[m], devY, 1),
          Calibration.nll(devLogits[m], devY, t)));
    }
    List<LabeledText> devExamples = IntStream.of(devRows).mapToObj(examples::get).toList();
    SpecialistClassifier devModel = new SpecialistClassifier(name, "dev", kind, labels, 0, calibrated,
        new NearestExamples(List.of(), t -> null, List.of()));
    double threshold = threshold(devModel, devLogits, devY, options.targetAccuracy());
    EvaluationReport dev = Evaluation.evaluate(devModel, devExamples, threshold);
    progress.accept("dev: " + dev.summary());

    int[] all = IntStream.range(0, y.length).toArray();
    Members onAll = members(kind, texts, embeddings, y, all, labels.size(), options, enc, progress);
    List<SpecialistClassifier.Member> finalMembers = new ArrayList<>();
    for (int m = 0; m < onAll.scorers.size(); m++) {
      finalMembers.add(new SpecialistClassifier.Member(onAll.scorers.get(m), calibrated.get(m).temperature()));
    }
    List<LabeledText> typical = kind == ModelKind.HASHED
        ? NearestExamples.typical(examples, onAll.hashedVectors, labels, HashedFeatures.DIMENSIONS)
        : NearestExamples.typical(examples, List.of(embeddings).stream().map(SparseVector::dense).toList(), labels,
            EmbeddingScorer.DIMENSIONS);
    SpecialistClassifier unversioned = new SpecialistClassifier(name, "unversioned", kind, labels, threshold,
        finalMembers, new NearestExamples(typical, t -> null, List.of()));

    ObjectNode metrics = JsonNodeFactory.instance.objectNode();
    metrics.set("dev", dev.toJson());
    metrics.set("temperatures", temperatures);
    metrics.put("recommendedThreshold", threshold);
    metrics.put("trainingExamples", examples.size());
    metrics.put("trainingSeconds", Math.round((System.nanoTime() - start) / 1e7) / 100.0);
    SpecialistModel record = SpecialistModels.encode(unversioned, clock.instant(), LabeledData.digest(examples), metrics,
        options.toJson());
    progress.accept(String.format("model %s %s: artifact %d bytes, record %d bytes", name, record.version(),
        java.util.Base64.getDecoder().decode(record.artifact()).length, SpecialistModels.recordBytes(record)));
    return new TrainedModel(SpecialistModels.load(record, enc), record, dev);
  }

  private static String memberName(Scorer s) {
    return s instanceof HashedScorer ? "hashed" : "embedding";
  }

  /** The lowest threshold whose kept dev events reach the target accuracy, on the averaged calibrated probabilities. */
  private static double threshold(SpecialistClassifier devModel, double[][][] devLogits, int[] devY, double target) {
    double[] confidence = new double[devY.length];
    boolean[] correct = new boolean[devY.length];
    for (int i = 0; i < devY.length; i++) {
      double[][] memberLogits = new double[devLogits.length][];
      for (int m = 0; m < devLogits.length; m++) {
        memberLogits[m] = devLogits[m][i];
      }
      double[] p = devModel.probabilities(memberLogits);
      int best = 0;
      for (int k = 1; k < p.length; k++) {
        best = p[k] > p[best] ? k : best;
      }
      confidence[i] = p[best];
      correct[i] = best == devY[i];
    }
    return Calibration.lowestThreshold(confidence, correct, target);
  }

  /** The scorers of a kind, trained on some rows, with the hashed vectors of all rows (for examples and the dev split). */
  private static final class Members {
    final List<Scorer> scorers = new ArrayList<>();
    List<SparseVector> hashedVectors;
    float[] mean;
    float[] scale;

    /** Logits of the rows, per member, from the vectors already computed. */
    double[][][] logits(List<String> texts, float[][] embeddings, int[] rows) {
      double[][][] out = new double[scorers.size()][rows.length][];
      for (int m = 0; m < scorers.size(); m++) {
        Scorer s = scorers.get(m);
        for (int r = 0; r < rows.length; r++) {
          int i = rows[r];
          out[m][r] = s instanceof HashedScorer h ? h.head().logits(hashedVectors.get(i))
              : ((EmbeddingScorer) s).head().logits(EmbeddingScorer.input(embeddings[i], mean, scale));
        }
      }
      return out;
    }
  }

  private static Members members(ModelKind kind, List<String> texts, float[][] embeddings, int[] y, int[] rows,
      int classes, TrainingOptions options, SentenceEncoder encoder, Consumer<String> progress) {
    Members out = new Members();
    int[] rowLabels = IntStream.of(rows).map(i -> y[i]).toArray();
    String of = rows.length == y.length ? "all " + rows.length : rows.length + "";
    if (kind != ModelKind.EMBEDDING) {
      HashedFeatures features = HashedFeatures.fit(IntStream.of(rows).mapToObj(texts::get).toList());
      out.hashedVectors = texts.stream().map(features::vector).toList();
      List<SparseVector> x = IntStream.of(rows).mapToObj(out.hashedVectors::get).toList();
      SgdRecipe r = options.hashed();
      SoftmaxRegression head = SoftmaxRegression.train(x, rowLabels, HashedFeatures.DIMENSIONS, classes, r,
          options.seed(), epoch -> progress.accept("hashed model on " + of + " examples: epoch " + epoch + "/" + r.epochs()));
      out.scorers.add(new HashedScorer(features, head.quantized()));
    }
    if (kind != ModelKind.HASHED) {
      float[][] std = EmbeddingScorer.standardization(IntStream.of(rows).mapToObj(i -> embeddings[i]).toArray(float[][]::new));
      out.mean = std[0];
      out.scale = std[1];
      List<SparseVector> x = IntStream.of(rows).mapToObj(i -> EmbeddingScorer.input(embeddings[i], out.mean, out.scale))
          .toList();
      SgdRecipe r = options.embedding();
      SoftmaxRegression head = SoftmaxRegression.train(x, rowLabels, EmbeddingScorer.DIMENSIONS, classes, r,
          options.seed(), epoch -> progress.accept("embedding head on " + of + " examples: epoch " + epoch + "/" + r.epochs()));
      out.scorers.add(new EmbeddingScorer(encoder, out.mean, out.scale, head.quantized()));
    }
    return out;
  }

  /** Row indices {train, dev}: per label, a seeded shuffle and the first devFraction of it (at least one of two). */
  static int[][] stratifiedSplit(int[] y, int classes, double devFraction, long seed) {
    Random random = new Random(seed);
    List<Integer> train = new ArrayList<>();
    List<Integer> dev = new ArrayList<>();
    for (int k = 0; k < classes; k++) {
      int label = k;
      List<Integer> rows = new ArrayList<>(IntStream.range(0, y.length).filter(i -> y[i] == label).boxed().toList());
      Collections.shuffle(rows, random);
      int held = rows.size() < 2 ? 0 : Math.max(1, (int) Math.round(devFraction * rows.size()));
      dev.addAll(rows.subList(0, held));
      train.addAll(rows.subList(held, rows.size()));
    }
    Collections.sort(train);
    Collections.sort(dev);
    return new int[][] {train.stream().mapToInt(Integer::intValue).toArray(), dev.stream().mapToInt(Integer::intValue).toArray()};
  }
}
