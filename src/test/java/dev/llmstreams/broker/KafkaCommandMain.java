package dev.llmstreams.broker;

/**
 * Test-only entry point to try {@code kafka start|stop|status} before the app's Main registers it.
 */
public final class KafkaCommandMain {
  private KafkaCommandMain() {}

  public static void main(String[] args) {
    System.exit(KafkaCommand.commandLine(KafkaCommand.Defaults.builtIn()).execute(args));
  }
}
