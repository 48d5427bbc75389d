package dev.llmstreams.specialist;

import dev.llmstreams.specialist.model.LabeledText;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Synthetic banking intents for tests: each text is a few words of its label's vocabulary among
 * filler words, drawn from a seeded generator, so a model that saw more examples of a label knows
 * more of its words.
 */
final class Intents {
  static final Map<String, List<String>> VOCABULARY =
      Map.of(
          "card_arrival",
              List.of(
                  "card",
                  "arrive",
                  "delivery",
                  "post",
                  "mail",
                  "shipped",
                  "waiting",
                  "weeks",
                  "new",
                  "tracking",
                  "envelope",
                  "courier",
                  "dispatch",
                  "address",
                  "expected",
                  "arrival"),
          "exchange_rate",
              List.of(
                  "rate",
                  "exchange",
                  "currency",
                  "euros",
                  "dollars",
                  "pounds",
                  "convert",
                  "conversion",
                  "abroad",
                  "foreign",
                  "yen",
                  "fx",
                  "margin",
                  "spread",
                  "quote",
                  "travel"),
          "lost_or_stolen_card",
              List.of(
                  "lost",
                  "stolen",
                  "wallet",
                  "thief",
                  "block",
                  "freeze",
                  "missing",
                  "robbed",
                  "pickpocket",
                  "disappeared",
                  "cancel",
                  "theft",
                  "police",
                  "somebody",
                  "took",
                  "bag"),
          "top_up_failed",
              List.of(
                  "top",
                  "topup",
                  "declined",
                  "failed",
                  "add",
                  "money",
                  "deposit",
                  "load",
                  "balance",
                  "transfer",
                  "rejected",
                  "error",
                  "funds",
                  "bank",
                  "apple",
                  "pay"));
  static final List<String> LABELS =
      List.of("card_arrival", "exchange_rate", "lost_or_stolen_card", "top_up_failed");
  private static final List<String> FILLER =
      List.of(
          "please", "help", "my", "the", "i", "is", "why", "it", "today", "hello", "can", "you",
          "still", "what", "thanks", "again");

  private final Random random;

  Intents(long seed) {
    random = new Random(seed);
  }

  LabeledText next(String label) {
    List<String> vocabulary = VOCABULARY.get(label);
    List<String> words = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      words.add(vocabulary.get(random.nextInt(vocabulary.size())));
    }
    for (int i = 0; i < 4; i++) {
      words.add(FILLER.get(random.nextInt(FILLER.size())));
    }
    java.util.Collections.shuffle(words, random);
    return new LabeledText(String.join(" ", words), label);
  }

  LabeledText next() {
    return next(LABELS.get(random.nextInt(LABELS.size())));
  }

  List<LabeledText> take(int n) {
    List<LabeledText> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(next());
    }
    return out;
  }
}
