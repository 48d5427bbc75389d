package dev.llmstreams.observability.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.opentelemetry.api.trace.SpanContext;
import java.util.Arrays;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Coverage-guided fuzzing of W3C trace context parsing ({@link TraceHeaders#read}): the {@code
 * traceparent} and {@code tracestate} header bytes of a record from any producer.
 *
 * <p>Input: {@code traceparent} bytes, then optionally a newline and the {@code tracestate} bytes.
 * Contract:
 *
 * <ul>
 *   <li>clean: a span context, invalid for a malformed header (a record without usable trace
 *       context); {@link TraceHeaders#traceId} agrees with it. No exception at all.
 *   <li>a valid context has a 32-digit and a 16-digit lowercase hex id, and writes back ({@link
 *       TraceHeaders#traceState}, {@link SpanRef#traceparent}) to headers that read as the same
 *       context.
 *   <li>anything else is a finding: any exception or Error, or a hang.
 * </ul>
 */
class TraceparentFuzzTest {
  @FuzzTest
  @DictionaryEntries({
    "00-",
    "-01",
    "-00",
    "ff-",
    "0af7651916cd43dd8448eb211c80319c",
    "b7ad6b7169203331",
    ",",
    "=",
    "@"
  })
  void read(byte[] data) {
    int newline = indexOf(data, (byte) '\n');
    RecordHeaders headers = new RecordHeaders();
    headers.add(
        TraceHeaders.TRACEPARENT, newline < 0 ? data : Arrays.copyOfRange(data, 0, newline));
    if (newline >= 0) {
      headers.add(TraceHeaders.TRACESTATE, Arrays.copyOfRange(data, newline + 1, data.length));
    }

    SpanContext context = TraceHeaders.read(headers);
    assertThat(context).isNotNull();
    String traceId = TraceHeaders.traceId(headers);
    if (!context.isValid()) {
      assertThat(traceId).isNull();
      return;
    }
    assertThat(traceId).isEqualTo(context.getTraceId());
    assertThat(context.getTraceId()).matches("[0-9a-f]{32}").isNotEqualTo("0".repeat(32));
    assertThat(context.getSpanId()).matches("[0-9a-f]{16}").isNotEqualTo("0".repeat(16));

    SpanRef ref =
        new SpanRef(
            context.getTraceId(),
            context.getSpanId(),
            null,
            context.isSampled(),
            TraceHeaders.traceState(context),
            0L);
    RecordHeaders written = new RecordHeaders();
    TraceHeaders.write(written, ref);
    SpanContext again = TraceHeaders.read(written);
    assertThat(again.getTraceId()).isEqualTo(context.getTraceId());
    assertThat(again.getSpanId()).isEqualTo(context.getSpanId());
    assertThat(again.isSampled()).isEqualTo(context.isSampled());
    assertThat(again.getTraceState().asMap()).isEqualTo(context.getTraceState().asMap());
  }

  private static int indexOf(byte[] data, byte b) {
    for (int i = 0; i < data.length; i++) {
      if (data[i] == b) {
        return i;
      }
    }
    return -1;
  }
}
