package dev.llmstreams.app;

import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Breaks the rule that app is the CLI and the wiring only, on purpose, for {@code LayersTest}: a
 * stream processor in app. Test sources only; the rules check main classes.
 */
final class AppProcessorFixture implements Processor<String, String, String, String> {
  @Override
  public void process(Record<String, String> record) {}
}
