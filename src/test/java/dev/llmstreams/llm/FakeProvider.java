package dev.llmstreams.llm;

import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;

/**
 * A provider for tests of the gateway's own logic (routing, limits, retries, cache): answers from a
 * script, or holds each call until the test completes it. Provider wire formats are tested against
 * the scripted HTTP server instead.
 */
final class FakeProvider implements LlmProvider {
  /** One call as the gateway made it. */
  record Call(
      LlmRequest request, String model, long atNanos, CompletableFuture<Completion> answer) {}

  private final String name;
  private final Function<Call, CompletableFuture<Completion>> script;
  final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();

  FakeProvider(String name, Function<Call, CompletableFuture<Completion>> script) {
    this.name = name;
    this.script = script;
  }

  /** Answers every call at once with "echo: <last message>" and 10 input / 5 output tokens. */
  static FakeProvider echo(String name) {
    return new FakeProvider(
        name, call -> CompletableFuture.completedFuture(answer(call.request())));
  }

  /** Holds every call until the test completes its future. */
  static FakeProvider held(String name) {
    return new FakeProvider(name, Call::answer);
  }

  static Completion answer(LlmRequest request) {
    var messages = request.messages();
    return new Completion(
        "echo: " + messages.get(messages.size() - 1).content(),
        List.of(),
        "stop",
        new Usage(10, 5),
        "fake-model-1");
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public CompletableFuture<Completion> complete(LlmRequest request, String model) {
    Call call = new Call(request, model, System.nanoTime(), new CompletableFuture<>());
    calls.add(call);
    return script.apply(call);
  }

  List<Call> callList() {
    return new ArrayList<>(calls);
  }
}
