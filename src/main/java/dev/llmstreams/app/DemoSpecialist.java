package dev.llmstreams.app;

import dev.llmstreams.bench.Progress;
import dev.llmstreams.config.AppConfig;
import dev.llmstreams.events.ClassificationRequest;
import dev.llmstreams.events.SpecialistModel;
import dev.llmstreams.specialist.model.LabeledData;
import dev.llmstreams.specialist.model.LabeledText;
import dev.llmstreams.specialist.model.ModelTrainer;
import dev.llmstreams.specialist.model.SpecialistModels;
import dev.llmstreams.specialist.model.TrainedModel;
import dev.llmstreams.specialist.model.TrainingOptions;
import dev.llmstreams.topics.Topic;
import dev.llmstreams.topics.TopicCatalog;
import dev.llmstreams.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The demo's specialist: a model trained on Banking77 (on the first run; later runs read it from
 * disk), published to specialist-models, and a stream of Banking77 test questions to label, a few a
 * second so the output can be read.
 */
final class DemoSpecialist {
  static final Path MODEL_DIR = Path.of(".llm-streams", "demo", "specialist-banking77");
  static final int EVENTS = 300;
  static final long EVERY_MS = 150;

  private DemoSpecialist() {}

  /**
   * The demo's model: read from {@link #MODEL_DIR}, or trained there on the bundled Banking77
   * training set.
   */
  static SpecialistModel model(AppConfig config) {
    String name = config.getString(AppConfig.SPECIALIST_MODEL_NAME);
    if (Files.exists(MODEL_DIR.resolve(SpecialistModels.MODEL_FILE))) {
      SpecialistModel saved = SpecialistModels.read(MODEL_DIR);
      if (saved.name().equals(name)) {
        DemoCommand.say(
            "specialist: model %s version %s, trained on an earlier run (%s; delete it to train again)",
            saved.name(), saved.version(), MODEL_DIR);
        return saved;
      }
    }
    List<LabeledText> train = LabeledData.classpath(LabeledData.BANKING77_TRAIN);
    DemoCommand.say(
        "specialist: training model %s on Banking77 (%d bank support questions, 77 intents, CC BY 4.0);"
            + " first run only, about three minutes on two cores",
        name, train.size());
    Progress progress = new Progress(System.out, "demo");
    TrainedModel trained =
        ModelTrainer.train(name, train, TrainingOptions.defaults(), progress::say);
    SpecialistModels.save(trained.record(), MODEL_DIR);
    DemoCommand.say("specialist: %s; saved to %s", trained.dev().summary(), MODEL_DIR);
    return trained.record();
  }

  /**
   * Publishes the model, then sends {@value #EVENTS} Banking77 test questions (a seeded sample) and
   * one malformed record from a background thread; the printer shows each question beside its
   * label.
   */
  static Thread start(
      AppConfig config, TopicCatalog catalog, SpecialistModel model, OutputPrinter printer)
      throws Exception {
    // The demo's own model, put in service as it is: recorded as forced, not gated.
    TrainCommand.publish(
        config,
        catalog,
        model.name(),
        model.withPromotion(PromotionCheck.forced("demo", java.time.Clock.systemUTC())),
        List.of(),
        new Progress(System.out, "demo"));
    List<LabeledText> test = new ArrayList<>(LabeledData.classpath(LabeledData.BANKING77_TEST));
    Collections.shuffle(test, new Random(System.nanoTime()));
    Topic<ClassificationRequest> requests = catalog.topic(Topics.CLASSIFICATION_REQUESTS);
    String run = Long.toString(System.currentTimeMillis() % 1_000_000, 36);
    DemoCommand.say(
        "specialist: sending %d Banking77 test questions to %s; each label prints as # classifications"
            + " (true label in brackets), escalations to the LLM marked",
        EVENTS, requests.name());
    Thread t =
        new Thread(
            () -> {
              try (KafkaProducer<byte[], byte[]> producer = Clients.producer(config)) {
                producer.send(
                    new ProducerRecord<>(
                        requests.name(),
                        bytes("demo-poison"),
                        bytes("{\"eventId\": 42, \"text\":")));
                for (int i = 0; i < EVENTS && !Thread.currentThread().isInterrupted(); i++) {
                  LabeledText e = test.get(i);
                  String id = "q-" + run + "-" + i;
                  printer.remember(id, e.text(), e.label());
                  producer.send(
                      new ProducerRecord<>(
                          requests.name(),
                          bytes(id),
                          requests
                              .valueSerde()
                              .serializer()
                              .serialize(
                                  requests.name(), new ClassificationRequest(id, e.text(), null))));
                  Thread.sleep(EVERY_MS);
                }
              } catch (InterruptedException | org.apache.kafka.common.errors.InterruptException e) {
                // the demo stops
              } catch (RuntimeException e) {
                System.err.println(
                    "llm-streams demo: sending classification requests failed: " + e);
              }
            },
            "llmstreams-demo-classification-requests");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
