package dev.llmstreams.specialist.model;

import dev.llmstreams.events.ScoredLabel;
import java.util.ArrayList;
import java.util.List;

/**
 * The specialist: one or two {@link Scorer}s whose logits are divided by their fitted temperature,
 * turned into probabilities and averaged. Immutable; built by {@link ModelTrainer} or {@link
 * SpecialistModels#load}.
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
    this.name = name;
    this.version = version;
    this.kind = kind;
    this.labels = List.copyOf(labels);
    this.recommendedThreshold = recommendedThreshold;
    this.members = List.copyOf(members);
    this.examples = examples;
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

  List<Member> members() {
    return members;
  }

  NearestExamples examples() {
    return examples;
  }

  @Override
  public Prediction predict(String text) {
    double[][] memberLogits = new double[members.size()][];
    for (int m = 0; m < memberLogits.length; m++) {
      memberLogits[m] = members.get(m).scorer().logits(text);
    }
    return prediction(probabilities(memberLogits));
  }

  @Override
  public List<Prediction> predictAll(List<String> texts) {
    double[][][] logitsByMember = new double[members.size()][][];
    for (int m = 0; m < logitsByMember.length; m++) {
      logitsByMember[m] = members.get(m).scorer().logits(texts);
    }
    List<Prediction> out = new ArrayList<>(texts.size());
    for (int i = 0; i < texts.size(); i++) {
      double[][] memberLogits = new double[members.size()][];
      for (int m = 0; m < memberLogits.length; m++) {
        memberLogits[m] = logitsByMember[m][i];
      }
      out.add(prediction(probabilities(memberLogits)));
    }
    return out;
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

  private Prediction prediction(double[] p) {
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
    return new Prediction(top.get(0).label(), top.get(0).confidence(), top);
  }

  @Override
  public List<LabeledText> nearestExamples(String text, int k) {
    return examples.nearest(text, k);
  }
}
