package dev.llmstreams.specialist.model;

/**
 * How one softmax regression is trained: epochs over the data, starting learning rate, L2 weight
 * decay.
 */
public record SgdRecipe(int epochs, double learningRate, double l2) {
  public SgdRecipe {
    if (epochs < 1 || !(learningRate > 0) || !(l2 >= 0)) {
      throw new IllegalArgumentException(
          "an SGD recipe needs epochs >= 1, learningRate > 0 and l2 >= 0: epochs "
              + epochs
              + ", learningRate "
              + learningRate
              + ", l2 "
              + l2);
    }
  }
}
