package dev.llmstreams.runtime.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstreams.events.ToolResult;
import dev.llmstreams.observability.tracing.SpanRef;
import dev.llmstreams.observability.tracing.TraceContent;
import dev.llmstreams.observability.tracing.Tracing;
import dev.llmstreams.topics.TopicCatalog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.SpanKind;
import java.time.Duration;

/**
 * One run of a built-in tool, as the tool workers ({@link ToolWorkersTopology}) and the
 * controller's inline tools (those it answers inside its own transaction) both do it: timed into
 * {@code llmstreams.tools.duration}, an exception turned into the error text the caller sees.
 *
 * @param outcome what the tool returned; null when it failed
 * @param error why it failed (a {@link ToolException}'s message as it is, any other exception's
 *     class and message); null when it ran
 * @param ms how long it ran
 */
public record ToolRun(Tool.Outcome outcome, String error, long ms) {
  /** An error text (an exception message, a server's answer) is cut to this many characters. */
  public static final int MAX_ERROR_CHARS = 2000;

  public boolean ok() {
    return error == null;
  }

  /**
   * Runs {@code tool} (one of those {@code worker} handles) with arguments already checked against
   * its definition.
   *
   * @throws InterruptedException when the thread was interrupted while the tool ran
   */
  public static ToolRun of(
      Tool worker, String tool, JsonNode arguments, Duration timeLimit, MeterRegistry meters)
      throws InterruptedException {
    Timer timer =
        Timer.builder("llmstreams.tools.duration")
            .description("Time one tool call took to run")
            .tag("tool", tool)
            .publishPercentileHistogram()
            .register(meters);
    long start = System.nanoTime();
    try {
      Tool.Outcome outcome = worker.execute(tool, arguments, timeLimit);
      return new ToolRun(outcome, null, elapsedMs(timer, start));
    } catch (InterruptedException e) {
      throw e;
    } catch (Exception e) {
      String message =
          e instanceof ToolException
              ? e.getMessage()
              : e.getClass().getSimpleName()
                  + (e.getMessage() == null ? "" : ": " + e.getMessage());
      return new ToolRun(null, errorText(message), elapsedMs(timer, start));
    }
  }

  /** An error as a result carries it: never blank, at most {@link #MAX_ERROR_CHARS}. */
  public static String errorText(String error) {
    String e = error == null || error.isBlank() ? "failed without a message" : error;
    return e.length() > MAX_ERROR_CHARS ? e.substring(0, MAX_ERROR_CHARS) + "..." : e;
  }

  /** Counts a call in {@code llmstreams.tools.calls} by tool and outcome. */
  public static void count(MeterRegistry meters, String tool, String outcome) {
    Counter.builder("llmstreams.tools.calls")
        .description("Tool calls by tool and outcome")
        .tag("tool", tool)
        .tag("outcome", outcome)
        .register(meters)
        .increment();
  }

  /**
   * The {@code execute_tool {tool}} span of the GenAI semantic conventions for one call and its
   * result, run by {@code worker}.
   */
  public static Tracing.Builder span(
      Tracing tracing,
      SpanRef span,
      ToolRegistry registry,
      JsonNode arguments,
      ToolResult result,
      String worker) {
    boolean mcp = result.tool().contains(TopicCatalog.MCP_TOOL_SEPARATOR);
    Tracing.Builder b =
        tracing
            .span(span, "execute_tool " + result.tool(), SpanKind.INTERNAL)
            .attr("gen_ai.operation.name", "execute_tool")
            .attr("gen_ai.tool.name", result.tool())
            .attr("gen_ai.tool.call.id", result.callId())
            .attr("gen_ai.tool.type", mcp ? "extension" : "function")
            .attr("gen_ai.conversation.id", result.goalId())
            .attr("llmstreams.tool.outcome", result.ok() ? "ok" : "error")
            .attr("llmstreams.tool.worker", worker);
    registry.find(result.tool()).ifPresent(d -> b.attr("gen_ai.tool.description", d.description()));
    b.content("gen_ai.tool.call.arguments", TraceContent.json(arguments));
    if (result.ok()) {
      b.content("gen_ai.tool.call.result", TraceContent.json(result.result()));
      b.ok();
    } else {
      b.error("tool_error", result.error());
    }
    return b;
  }

  private static long elapsedMs(Timer timer, long startNanos) {
    long nanos = System.nanoTime() - startNanos;
    timer.record(Duration.ofNanos(nanos));
    return nanos / 1_000_000;
  }
}
