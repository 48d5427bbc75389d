package dev.llmstreams.specialist.model;

import dev.llmstreams.events.ScoredLabel;
import java.util.ArrayList;
import java.util.List;

/**
 * The specialist: one or two {@link Scorer}s whose logits are divided by their fitted temperature,
 * turned into probabilities and averaged. A {@link ModelKind#CASCADE cascade} asks its first
 * (cheap) member alone first and keeps its answer when that member's own calibrated confidence
 * reaches the stage threshold; only the other texts pay for every member, averaged as in an
 * ensemble. Immutable; built by {@link ModelTrainer} or {@link SpecialistModels#load}.
 */
public final class SpecialistClassifier implements TextClassifier {
  private static final int TOP = 3;

  /** A scorer and the temperature that calibrates it. */
  record Member(Scorer scorer, double temperature) {}

  private final String name;
  private final String version;
  private final ModelKind kind;
  private final List<String> labels;
  private final double recommendedThreshold;
  private final double stageThreshold;
  private final List<Member> members;
  private final NearestExamples examples;

  SpecialistClassifier(
      String name,
      String version,
      ModelKind kind,
      List<String> labels,
      double recommendedThreshold,
      List<Member> members,
      NearestExamples examples) {
    this(name, version, kind, labels, recommendedThreshold, NEVER, members, examples);
  }

  /** A first stage that never decides alone (above every probability). */
  public static final double NEVER = 2;

  SpecialistClassifier(
      String name,
      String version,
      ModelKind kind,
      List<String> labels,
      double recommendedThreshold,
      double stageThreshold,
      List<Member> members,
      NearestExamples examples) {
    if (kind == ModelKind.CASCADE && members.size() < 2) {
      throw new IllegalArgumentException("a cascade needs a first stage and at least one more");
    }
    this.stageThreshold = stageThreshold;
    this.name = name;
    this.version = version;
    this.kind = kind;
    this.labels = List.copyOf(labels);
    this.recommendedThreshold = recommendedThreshold;
    this.members = List.copyOf(members);
    this.examples = examples;
  }

  /**
   * The same model with other thresholds: {@code stageThreshold} for a cascade's first stage
   * (ignored otherwise) and {@code threshold} as its recommended one. What another training bound
   * would have served ({@code outOfScope.tradeOff} in the metrics names both), without training
   * again.
   */
  public SpecialistClassifier atThresholds(double stageThreshold, double threshold) {
    return new SpecialistClassifier(
        name,
        version,
        kind,
        labels,
        threshold,
        kind == ModelKind.CASCADE ? stageThreshold : NEVER,
        members,
        examples);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String version() {
    return version;
  }

  public ModelKind kind() {
    return kind;
  }

  @Override
  public List<String> labels() {
    return labels;
  }

  @Override
  public double recommendedThreshold() {
    return recommendedThreshold;
  }

  /**
   * A cascade's first-stage threshold: its first member alone decides a text when its calibrated
   * confidence reaches this ({@value #NEVER}: never; not a cascade: unused).
   */
  public double stageThreshold() {
    return stageThreshold;
  }

  List<Member> members() {
    return members;
  }

  NearestExamples examples() {
    return examples;
  }

  @Override
  public Prediction predict(String text) {
    return predict(text, null);
  }

  /**
   * {@link #predict}, with a cascade's route given: {@code firstDecides} true keeps the first
   * stage's answer, false asks every member, null lets the first stage's confidence decide (as
   * served). {@link ModelTrainer} times held-out texts along the route their held-out prediction
   * took, since the served model is sure of the texts it trained on.
   */
  Prediction predict(String text, Boolean firstDecides) {
    double[][] memberLogits = new double[members.size()][];
    int from = 0;
    if (kind == ModelKind.CASCADE) {
      memberLogits[0] = members.get(0).scorer().logits(text);
      double[] first = firstStage(memberLogits[0]);
      if (firstDecides == null ? first[best(first)] >= stageThreshold : firstDecides) {
        return prediction(first, members.get(0).scorer().stage(), true);
      }
      from = 1;
    }
    for (int m = from; m < memberLogits.length; m++) {
      memberLogits[m] = members.get(m).scorer().logits(text);
    }
    return prediction(probabilities(memberLogits), finalStage(), false);
  }

  /**
   * Like {@link #predict} for each text; the members after a cascade's first stage see only the
   * texts it left, in one batch.
   */
  @Override
  public List<Prediction> predictAll(List<String> texts) {
    Prediction[] out = new Prediction[texts.size()];
    double[][][] logitsByMember = new double[members.size()][][];
    List<Integer> rest = new ArrayList<>();
    int from = 0;
    if (kind == ModelKind.CASCADE) {
      logitsByMember[0] = members.get(0).scorer().logits(texts);
      for (int i = 0; i < out.length; i++) {
        double[] first = firstStage(logitsByMember[0][i]);
        if (first[best(first)] >= stageThreshold) {
          out[i] = prediction(first, members.get(0).scorer().stage(), true);
        } else {
          rest.add(i);
        }
      }
      from = 1;
    } else {
      for (int i = 0; i < out.length; i++) {
        rest.add(i);
      }
    }
    List<String> restTexts = rest.stream().map(texts::get).toList();
    for (int m = from; m < logitsByMember.length; m++) {
      double[][] restLogits = members.get(m).scorer().logits(restTexts);
      logitsByMember[m] = new double[texts.size()][];
      for (int r = 0; r < rest.size(); r++) {
        logitsByMember[m][rest.get(r)] = restLogits[r];
      }
    }
    for (int r = 0; r < rest.size(); r++) {
      int i = rest.get(r);
      double[][] memberLogits = new double[members.size()][];
      for (int m = 0; m < memberLogits.length; m++) {
        memberLogits[m] = logitsByMember[m][i];
      }
      out[i] = prediction(probabilities(memberLogits), finalStage(), false);
    }
    return List.of(out);
  }

  /** The first member's calibrated probabilities (a cascade's first stage). */
  double[] firstStage(double[] firstLogits) {
    return Calibration.probabilities(firstLogits, members.get(0).temperature());
  }

  /** What decides the texts a cascade's first stage leaves, or the whole model otherwise. */
  private String finalStage() {
    return kind == ModelKind.CASCADE || kind == ModelKind.ENSEMBLE
        ? ModelKind.ENSEMBLE.id()
        : kind.id();
  }

  static int best(double[] p) {
    int best = 0;
    for (int k = 1; k < p.length; k++) {
      best = p[k] > p[best] ? k : best;
    }
    return best;
  }

  /** The members' calibrated probabilities, averaged, in the order of {@link #labels()}. */
  double[] probabilities(double[][] memberLogits) {
    double[] p = new double[labels.size()];
    for (int m = 0; m < members.size(); m++) {
      double[] q = Calibration.probabilities(memberLogits[m], members.get(m).temperature());
      for (int k = 0; k < p.length; k++) {
        p[k] += q[k] / members.size();
      }
    }
    return p;
  }

  private Prediction prediction(double[] p, String stage, boolean settled) {
    int[] best = new int[Math.min(TOP, p.length)];
    java.util.Arrays.fill(best, -1);
    for (int k = 0; k < p.length; k++) {
      for (int r = 0; r < best.length; r++) {
        if (best[r] < 0 || p[k] > p[best[r]]) {
          System.arraycopy(best, r, best, r + 1, best.length - r - 1);
          best[r] = k;
          break;
        }
      }
    }
    List<ScoredLabel> top = new ArrayList<>(best.length);
    for (int k : best) {
      // Rounding may push a sum of probabilities a hair past 1.
      top.add(new ScoredLabel(labels.get(k), Math.min(1, Math.max(0, p[k]))));
    }
    return new Prediction(top.get(0).label(), top.get(0).confidence(), top, stage, settled);
  }

  @Override
  public List<LabeledText> nearestExamples(String text, int k) {
    return examples.nearest(text, k);
  }
}
