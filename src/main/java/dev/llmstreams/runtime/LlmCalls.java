package dev.llmstreams.runtime;

import dev.llmstreams.events.LlmReply;
import dev.llmstreams.events.LlmRequest;
import dev.llmstreams.events.SpanRecord;
import dev.llmstreams.observability.tracing.SpanRef;
import dev.llmstreams.observability.tracing.Tracing;
import java.util.List;
import java.util.Optional;

/**
 * LLM calls a pattern makes from its own task, in this JVM, through the gateway of the same app:
 * the same routes, fallbacks, slots, rate limits, circuit breakers, deadlines and {@code
 * llmstreams.llm.*} meters as a request on a topic, without the two committed hops of the topic
 * round trip (the request to the gateway's task, the reply back). The app wires it when the gateway
 * runs beside the pattern ({@code controller.llm.calls=direct}); the pattern keeps what a call is
 * waiting for in its own state, so that a new owner of its task starts the call again.
 */
public interface LlmCalls {
  /**
   * Why requests of {@code purpose} must go through the gateway's topic instead (a shadow candidate
   * or the reply cache serves them there), or empty when they can be called directly.
   */
  Optional<String> topicOnly(String purpose);

  /** The calls of one task; {@code tracing} records each call's span as that task's work. */
  Session open(Tracing tracing);

  /** A finished call, handed back on the task's stream thread. */
  record Answer(String key, LlmRequest request, LlmReply reply, Optional<SpanRecord> span) {}

  /**
   * The calls of one task. Every method runs on the task's stream thread; the calls themselves run
   * on the gateway's threads and wait in the session until {@link #poll}.
   */
  interface Session extends AutoCloseable {
    /**
     * Starts the call, or queues it until its provider has a free slot. A call with the same
     * requestId still running in this JVM (started by a previous owner of the task) is joined, not
     * started again; a requestId this session already has is ignored.
     *
     * @param key the record key the answer carries (the goalId)
     * @param span the span of this call, started by the caller (null: not traced)
     */
    void call(String key, LlmRequest request, SpanRef span);

    /** The calls finished since the last poll, each once; starts queued calls. */
    List<Answer> poll(long nowMs);

    /** No call of this session is queued, running, or finished and not yet polled. */
    boolean idle();

    /**
     * Waits until at most {@code maxQueued} calls of this session wait for a provider slot (calls
     * that finish start the next ones from the gateway's threads), or until {@code timeout}; false
     * when the queue is still longer. The caller's backpressure: a task that stops here reads no
     * more input meanwhile.
     */
    boolean awaitRoom(int maxQueued, java.time.Duration timeout);

    /**
     * The task closes: queued calls are forgotten, running calls are left for the task's next owner
     * in this JVM to join (their replies are dropped when none does), and answers not yet polled
     * are dropped. The caller's state still says what each call waits for.
     */
    @Override
    void close();
  }
}
