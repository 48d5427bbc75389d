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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.stream.IntStream;
import java.util.stream.Stream;

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

  /** @param progress told what training does; called from two threads when an ensemble trains */
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

    int[][] split = stratifiedSplit(y, labels.size(), options.devFraction(), options.seed());
    int[] trainRows = split[0];
    int[] devRows = split[1];
    progress.accept("dev split: " + devRows.length + " of " + y.length + " examples held out");

    Members members = trainMembers(kind, texts, y, trainRows, labels.size(), options, enc, progress);
    List<Member> onTrainSplit = members.onTrainSplit();
    List<Member> onAll = members.onAll();
    float[][] embeddings = members.embeddings();

    int[] devY = IntStream.of(devRows).map(i -> y[i]).toArray();
    double[][][] devLogits = new double[onTrainSplit.size()][][];
    List<SpecialistClassifier.Member> calibrated = new ArrayList<>();
    ObjectNode temperatures = JsonNodeFactory.instance.objectNode();
    for (int m = 0; m < onTrainSplit.size(); m++) {
      Member member = onTrainSplit.get(m);
      devLogits[m] = IntStream.of(devRows).mapToObj(member.rowLogits()).toArray(double[][]::new);
      double t = Calibration.fitTemperature(devLogits[m], devY);
      calibrated.add(new SpecialistClassifier.Member(member.scorer(), t));
      temperatures.put(member.name(), t);
      progress.accept(String.format("temperature of the %s model: %.3f (dev NLL %.4f -> %.4f)", member.name(), t,
          Calibration.nll(devLogits[m], devY, 1), Calibration.nll(devLogits[m], devY, t)));
    }
    List<LabeledText> devExamples = IntStream.of(devRows).mapToObj(examples::get).toList();
    SpecialistClassifier devModel = new SpecialistClassifier(name, "dev", kind, labels, 0, calibrated,
        NearestExamples.unsearchable(List.of()));
    double threshold = threshold(devModel, devLogits, devY, options.targetAccuracy());
    EvaluationReport dev = Evaluation.evaluate(devModel, devExamples, threshold);
    progress.accept("dev: " + dev.summary());

    List<SpecialistClassifier.Member> finalMembers = new ArrayList<>();
    for (int m = 0; m < onAll.size(); m++) {
      finalMembers.add(new SpecialistClassifier.Member(onAll.get(m).scorer(), calibrated.get(m).temperature()));
    }
    List<LabeledText> typical = kind == ModelKind.HASHED
        ? NearestExamples.typical(examples, onAll.get(0).hashedVectors(), labels, HashedFeatures.DIMENSIONS)
        : NearestExamples.typical(examples, Stream.of(embeddings).map(SparseVector::dense).toList(), labels,
            EmbeddingScorer.DIMENSIONS);
    SpecialistClassifier unversioned = new SpecialistClassifier(name, "unversioned", kind, labels, threshold,
        finalMembers, NearestExamples.unsearchable(typical));

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

  /** Each member trained twice: on the train split (to calibrate on dev), then on all rows (to serve). */
  private record Members(List<Member> onTrainSplit, List<Member> onAll, float[][] embeddings) {}

  private static Members trainMembers(ModelKind kind, List<String> texts, int[] y, int[] trainRows, int classes,
      TrainingOptions options, SentenceEncoder encoder, Consumer<String> progress) {
    int[] allRows = IntStream.range(0, y.length).toArray();
    List<Member> onTrainSplit = new ArrayList<>();
    List<Member> onAll = new ArrayList<>();
    float[][] embeddings = null;
    ExecutorService hashedTraining = Executors.newSingleThreadExecutor(r -> new Thread(r, "specialist-hashed-training"));
    try {
      Future<List<Member>> hashed = kind == ModelKind.EMBEDDING ? null : hashedTraining.submit(() -> List.of(
          hashed(texts, y, trainRows, classes, options, progress), hashed(texts, y, allRows, classes, options, progress)));
      if (kind != ModelKind.HASHED) {
        // The hashed member trains on the other core meanwhile: the sentence encoder runs on one thread.
        progress.accept("embedding " + texts.size() + " texts with MiniLM");
        embeddings = encoder.embed(texts);
        onTrainSplit.add(embedding(embeddings, y, trainRows, classes, options, encoder, progress));
        onAll.add(embedding(embeddings, y, allRows, classes, options, encoder, progress));
      }
      if (hashed != null) {
        // Hashed first: the artifact lists members in this order.
        onTrainSplit.add(0, hashed.get().get(0));
        onAll.add(0, hashed.get().get(1));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("training interrupted", e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } finally {
      hashedTraining.shutdownNow();
    }
    return new Members(onTrainSplit, onAll, embeddings);
  }

  /**
   * A member trained on some rows, with the logits of any row from vectors already computed, and (hashed member) the
   * vectors of all rows.
   */
  private record Member(String name, Scorer scorer, IntFunction<double[]> rowLogits, List<SparseVector> hashedVectors) {}

  private static Member hashed(List<String> texts, int[] y, int[] rows, int classes, TrainingOptions options,
      Consumer<String> progress) {
    HashedFeatures features = HashedFeatures.fit(IntStream.of(rows).mapToObj(texts::get).toList());
    List<SparseVector> vectors = texts.stream().map(features::vector).toList();
    SgdRecipe r = options.hashed();
    String of = rows.length == y.length ? "all " + rows.length : Integer.toString(rows.length);
    SoftmaxRegression head = SoftmaxRegression.train(IntStream.of(rows).mapToObj(vectors::get).toList(),
        IntStream.of(rows).map(i -> y[i]).toArray(), HashedFeatures.DIMENSIONS, classes, r, options.seed(),
        epoch -> progress.accept("hashed model on " + of + " examples: epoch " + epoch + "/" + r.epochs())).quantized();
    return new Member("hashed", new HashedScorer(features, head), i -> head.logits(vectors.get(i)), vectors);
  }

  private static Member embedding(float[][] embeddings, int[] y, int[] rows, int classes, TrainingOptions options,
      SentenceEncoder encoder, Consumer<String> progress) {
    float[][] std = EmbeddingScorer.standardization(IntStream.of(rows).mapToObj(i -> embeddings[i]).toArray(float[][]::new));
    SgdRecipe r = options.embedding();
    String of = rows.length == y.length ? "all " + rows.length : Integer.toString(rows.length);
    SoftmaxRegression head = SoftmaxRegression.train(
        IntStream.of(rows).mapToObj(i -> EmbeddingScorer.input(embeddings[i], std[0], std[1])).toList(),
        IntStream.of(rows).map(i -> y[i]).toArray(), EmbeddingScorer.DIMENSIONS, classes, r, options.seed(),
        epoch -> progress.accept("embedding head on " + of + " examples: epoch " + epoch + "/" + r.epochs())).quantized();
    return new Member("embedding", new EmbeddingScorer(encoder, std[0], std[1], head),
        i -> head.logits(EmbeddingScorer.input(embeddings[i], std[0], std[1])), null);
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
