package dev.llmstreams.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import jdk.jfr.Recording;

/**
 * Where the CPU of one measured phase of a benchmark goes: the CPU time of each thread of this JVM
 * between the phase's start and end, grouped into components by the thread's name ({@link
 * Components}), the rest of the process (GC, JIT, threads that ended), the broker's process when it
 * is a local child, and a JFR recording of the same span whose execution samples on the app's
 * stream and producer threads are attributed to what the code was doing ({@link
 * SampleAttribution}). Divided by the goals the phase finished: CPU milliseconds per goal.
 */
final class CpuProfile {
  /** JFR's execution sampling period: 100 samples a second per running thread. */
  static final Duration SAMPLE_PERIOD = Duration.ofMillis(10);

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  /** Clock ticks per second of {@code /proc/<pid>/stat}, read once. */
  private static volatile Long clockTicks;

  /**
   * How a thread's name places it: the Kafka clients of each pattern of the measured app (their
   * names carry the pattern's application id {@code <application.id>-<pattern>}: stream threads
   * {@code <client.id>-StreamThread-N}, producer I/O {@code kafka-producer-network-thread |
   * <client.id>-StreamThread-N-producer}, the rest: consumer heartbeat, admin, state updater,
   * global table), the gateway's HTTP client to the LLM, the simulated LLM, the bench's own driver,
   * the JFR recorder, the other app of a comparison, and the rest.
   *
   * @param patternOfAppId each pattern of the measured app by its application id
   * @param otherApps application ids (without the pattern) of apps in the same JVM not being
   *     measured
   */
  record Components(Map<String, String> patternOfAppId, List<String> otherApps) {
    static final String GATEWAY_HTTP = "gateway_http_client";
    static final String SIMULATED_LLM = "simulated_llm";
    static final String BENCH_DRIVER = "bench_driver";
    static final String OTHER_KAFKA = "other_kafka_clients";
    static final String PROFILER = "profiler_jfr";
    static final String OTHER_APP = "other_app_of_comparison";
    static final String OTHER_THREADS = "other_threads";
    static final String JVM_JIT = "jvm_jit_compiler";
    static final String JVM_GC = "jvm_gc";
    static final String JVM_VM_THREAD = "jvm_vm_thread";
    static final String JVM_OTHER = "jvm_other";
    static final String STREAM_THREADS = "_stream_threads";
    static final String PRODUCERS = "_producers";

    Components {
      patternOfAppId = Map.copyOf(patternOfAppId);
      otherApps = List.copyOf(otherApps);
    }

    /** The component of a thread of this JVM, by its name. */
    String of(String thread) {
      for (Map.Entry<String, String> app : patternOfAppId.entrySet()) {
        if (thread.contains(app.getKey())) {
          String pattern = app.getValue();
          if (thread.startsWith("kafka-producer-network-thread")) {
            return pattern + PRODUCERS;
          }
          return thread.contains("-StreamThread-")
              ? pattern + STREAM_THREADS
              : pattern + "_other_kafka_threads";
        }
      }
      if (otherApps.stream().anyMatch(thread::contains)) {
        return OTHER_APP;
      }
      if (thread.startsWith("HttpClient-") || thread.equals("llmstreams-gateway-timer")) {
        return GATEWAY_HTTP;
      }
      if (thread.startsWith("sim-llm-") || thread.equals("HTTP-Dispatcher")) {
        return SIMULATED_LLM;
      }
      if (thread.equals("main")) {
        return BENCH_DRIVER;
      }
      if (thread.startsWith("kafka-")) {
        return OTHER_KAFKA;
      }
      if (thread.startsWith("JFR ")) {
        return PROFILER;
      }
      return OTHER_THREADS;
    }

    /**
     * The component of one of the JVM's own threads, which ThreadMXBean does not list, by its name
     * as Linux knows it ({@code comm}, 15 characters at most); null for any other thread (a Java
     * thread, counted by its Java name).
     */
    static String ofJvmThread(String comm) {
      if (comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")) {
        return JVM_JIT;
      }
      if (comm.startsWith("GC Thread")
          || comm.startsWith("G1 ")
          || comm.startsWith("GC ")
          || comm.startsWith("ZDriver")
          || comm.startsWith("ZWorker")) {
        return JVM_GC;
      }
      if (comm.startsWith("VM Thread") || comm.startsWith("VM Periodic")) {
        return JVM_VM_THREAD;
      }
      return null;
    }

    /** Whether a component's samples are attributed to categories: stream and producer threads. */
    static boolean attributed(String component) {
      return component.endsWith(STREAM_THREADS) || component.endsWith(PRODUCERS);
    }

    /** The stream and producer components of the measured app, null for any other thread. */
    String attributedOf(String thread) {
      String c = of(thread);
      return attributed(c) ? c : null;
    }
  }

  private final Components components;
  private final OptionalLong brokerPid;
  private final Path jfrFile;
  private final Recording recording;
  private final long startNanos;
  private final long processStartNs;
  private final Map<Long, Long> threadStartNs;
  private final Long brokerStartMs;
  private final Map<String, Long> jvmStartMs;

  private CpuProfile(Components components, OptionalLong brokerPid, Path jfrFile)
      throws IOException {
    this.components = components;
    this.brokerPid = brokerPid;
    this.jfrFile = jfrFile;
    if (THREADS.isThreadCpuTimeSupported() && !THREADS.isThreadCpuTimeEnabled()) {
      THREADS.setThreadCpuTimeEnabled(true);
    }
    // Only the events the profile reads and a few cheap ones for JDK Mission Control (CPU load,
    // GC, long compilations, deoptimizations): the recording should disturb the phase as little
    // as it can, and JFR's "default" settings also sample allocations and old objects.
    recording = new Recording();
    recording.enable("jdk.ExecutionSample").withPeriod(SAMPLE_PERIOD);
    recording.enable("jdk.NativeMethodSample").withPeriod(SAMPLE_PERIOD.multipliedBy(2));
    recording.enable("jdk.ThreadCPULoad").withPeriod(Duration.ofSeconds(1));
    recording.enable("jdk.CPULoad").withPeriod(Duration.ofSeconds(1));
    recording.enable("jdk.GarbageCollection");
    recording.enable("jdk.Compilation").withThreshold(Duration.ofMillis(100));
    recording.enable("jdk.Deoptimization");
    recording.setName("llm-streams bench phase");
    recording.start();
    startNanos = System.nanoTime();
    processStartNs = processCpuNs();
    threadStartNs = threadCpuNs().cpu();
    jvmStartMs = jvmThreadCpuMs();
    brokerStartMs = brokerCpuMs(brokerPid);
  }

  /**
   * Starts and stops a JFR recording once, before the warm-up: JFR's first start in a JVM
   * instruments JDK classes (file and socket I/O among them) and so throws away the compiled code
   * that inlined them, and the JIT then compiles again for tens of seconds. Primed, that happens
   * while the warm-up runs, not in the first profiled phase.
   */
  static void prime() {
    try (Recording r = new Recording()) {
      r.enable("jdk.ExecutionSample").withPeriod(SAMPLE_PERIOD);
      r.start();
      r.stop();
    }
  }

  /**
   * Starts measuring a phase.
   *
   * @param brokerPid the broker's process, empty when it is not a child of this bench
   * @param jfrFile where the phase's JFR recording is kept, or null to parse it and delete it
   */
  static CpuProfile start(Components components, OptionalLong brokerPid, Path jfrFile)
      throws IOException {
    return new CpuProfile(components, brokerPid, jfrFile);
  }

  /** Ends the phase, {@code goals} of which finished, and returns what it cost. */
  Result stop(int goals) throws IOException {
    Threads end = threadCpuNs();
    Map<String, Long> jvmEndMs = jvmThreadCpuMs();
    long processEndNs = processCpuNs();
    Long brokerEndMs = brokerCpuMs(brokerPid);
    long wallNs = System.nanoTime() - startNanos;
    recording.stop();
    Path file = jfrFile != null ? jfrFile : Files.createTempFile("llmstreams-bench", ".jfr");
    Map<String, Map<String, Long>> samples;
    try {
      if (file.toAbsolutePath().getParent() != null) {
        Files.createDirectories(file.toAbsolutePath().getParent());
      }
      recording.dump(file);
      samples = SampleAttribution.tally(file, components::attributedOf);
    } finally {
      recording.close();
      if (jfrFile == null) {
        Files.deleteIfExists(file);
      }
    }
    Map<String, Double> cpuMs = new TreeMap<>();
    Map<String, Integer> threads = new TreeMap<>();
    double threadsMs = 0;
    Map<String, Double> others = new TreeMap<>();
    for (Map.Entry<Long, Long> t : end.cpu().entrySet()) {
      long ns = t.getValue() - threadStartNs.getOrDefault(t.getKey(), 0L);
      String name = end.names().get(t.getKey());
      String c = components.of(name);
      if (c.equals(Components.OTHER_THREADS)) {
        others.merge(name.replaceAll("\\d+", "N"), ns / 1e6, Double::sum);
      }
      cpuMs.merge(c, ns / 1e6, Double::sum);
      threads.merge(c, 1, Integer::sum);
      threadsMs += ns / 1e6;
    }
    // The JVM's own threads (JIT, GC, VM operations), from /proc; the rest of the process: threads
    // that ended during the phase, and whatever is on no thread the two sources list.
    for (Map.Entry<String, Long> t : jvmEndMs.entrySet()) {
      double ms = t.getValue() - jvmStartMs.getOrDefault(t.getKey(), 0L);
      String c = t.getKey().substring(0, t.getKey().indexOf('/'));
      cpuMs.merge(c, ms, Double::sum);
      threads.merge(c, 1, Integer::sum);
      threadsMs += ms;
    }
    double processMs = (processEndNs - processStartNs) / 1e6;
    cpuMs.put(Components.JVM_OTHER, processMs - threadsMs);
    return new Result(
        goals,
        wallNs / 1e6,
        processMs,
        brokerStartMs == null || brokerEndMs == null ? null : (double) brokerEndMs - brokerStartMs,
        cpuMs,
        threads,
        others,
        samples,
        jfrFile,
        GatewayBench.loadAverage());
  }

  /** The CPU one phase used. */
  record Result(
      int goals,
      double wallMs,
      double processMs,
      Double brokerMs,
      Map<String, Double> cpuMs,
      Map<String, Integer> threads,
      Map<String, Double> otherThreads,
      Map<String, Map<String, Long>> samples,
      Path jfr,
      double loadAverage) {
    /** CPU ms per goal of a CPU time, or null when no goal finished. */
    Double perGoal(Double ms) {
      return ms == null || goals == 0 ? null : ms / goals;
    }

    /**
     * Estimated CPU ms of each category over the attributed components: each component's CPU ms
     * split by its samples' shares, summed.
     */
    Map<String, Double> categoryMs() {
      Map<String, Double> out = new LinkedHashMap<>();
      samples.forEach(
          (component, byCategory) -> {
            long total = byCategory.values().stream().mapToLong(Long::longValue).sum();
            double ms = cpuMs.getOrDefault(component, 0.0);
            byCategory.forEach((cat, n) -> out.merge(cat, ms * n / total, Double::sum));
          });
      return out;
    }

    /** Samples per category over the attributed components. */
    Map<String, Long> categorySamples() {
      Map<String, Long> out = new LinkedHashMap<>();
      samples.values().forEach(m -> m.forEach((cat, n) -> out.merge(cat, n, Long::sum)));
      return out;
    }

    ObjectNode json(String phase) {
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      out.put("phase", phase);
      out.put("goals", goals);
      out.put("wall_ms", GatewayBench.round(wallMs));
      out.put("system_load_average_1m", GatewayBench.round(loadAverage));
      putCost(out, "process", processMs);
      putCost(out, "broker", brokerMs);
      ObjectNode byComponent = out.putObject("components");
      cpuMs.forEach(
          (c, ms) -> {
            ObjectNode node = byComponent.putObject(c);
            putCost(node, null, ms);
            node.put("threads", threads.getOrDefault(c, 0));
            if (c.equals(Components.OTHER_THREADS)) {
              // which threads these are, the busiest first: names with their numbers as N
              ObjectNode names = node.putObject("busiest_ms_per_goal");
              otherThreads.entrySet().stream()
                  .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
                  .limit(5)
                  .forEach(
                      e ->
                          names.put(
                              e.getKey(), GatewayBench.round(e.getValue() / Math.max(1, goals))));
            }
          });
      ObjectNode categories = out.putObject("categories");
      Map<String, Long> counts = categorySamples();
      long total = counts.values().stream().mapToLong(Long::longValue).sum();
      Map<String, Double> ms = categoryMs();
      out.put("samples_attributed", total);
      for (String cat : SampleAttribution.CATEGORIES) {
        if (counts.containsKey(cat)) {
          ObjectNode node = categories.putObject(cat);
          node.put("samples", counts.get(cat));
          node.put("share", GatewayBench.round((double) counts.get(cat) / total));
          Double perGoal = perGoal(ms.get(cat));
          if (perGoal == null) {
            node.putNull("cpu_ms_per_goal");
          } else {
            node.put("cpu_ms_per_goal", GatewayBench.round(perGoal));
          }
        }
      }
      if (jfr != null) {
        out.put("jfr", jfr.toString());
      }
      return out;
    }

    /** {@code <name>_cpu_ms_per_goal} and {@code <name>_cores_busy} (no prefix when null). */
    private void putCost(ObjectNode out, String name, Double ms) {
      String prefix = name == null ? "" : name + "_";
      Double perGoal = perGoal(ms);
      if (perGoal == null) {
        out.putNull(prefix + "cpu_ms_per_goal");
        out.putNull(prefix + "cores_busy");
      } else {
        out.put(prefix + "cpu_ms_per_goal", GatewayBench.round(perGoal));
        out.put(prefix + "cores_busy", GatewayBench.round(ms / Math.max(1, wallMs)));
      }
    }

    /** The phase as lines of a table: each component, then the sampled categories. */
    List<String> table(String phase) {
      List<String> lines = new ArrayList<>();
      lines.add(
          String.format(
              Locale.ROOT,
              "CPU of %s: %d goals in %.1f s, load average %.2f",
              phase,
              goals,
              wallMs / 1000,
              loadAverage));
      lines.add(String.format(Locale.ROOT, "  %-42s %12s %11s", "", "ms per goal", "cores busy"));
      List<Map.Entry<String, Double>> sorted = new ArrayList<>(cpuMs.entrySet());
      sorted.sort(Map.Entry.<String, Double>comparingByValue().reversed());
      for (Map.Entry<String, Double> e : sorted) {
        lines.add(row(e.getKey(), e.getValue()));
      }
      lines.add(row("= this JVM's process", processMs));
      lines.add(
          brokerMs == null
              ? String.format(Locale.ROOT, "  %-42s %12s", "broker (external: unknown)", "-")
              : row("broker (its own process)", brokerMs));
      Map<String, Long> counts = categorySamples();
      long total = counts.values().stream().mapToLong(Long::longValue).sum();
      Map<String, Double> ms = categoryMs();
      lines.add(
          String.format(
              Locale.ROOT,
              "  stream and producer threads by code (%d JFR samples):%s",
              total,
              total == 0 ? " none" : ""));
      for (String cat : SampleAttribution.CATEGORIES) {
        if (counts.containsKey(cat)) {
          lines.add(
              String.format(
                  Locale.ROOT,
                  "    %-46s %8.3f %10.0f%%",
                  cat,
                  perGoal(ms.get(cat)),
                  100.0 * counts.get(cat) / total));
        }
      }
      return lines;
    }

    private String row(String name, double ms) {
      return String.format(
          Locale.ROOT,
          "  %-42s %12.3f %11.2f",
          name,
          perGoal(ms) == null ? Double.NaN : perGoal(ms),
          ms / Math.max(1, wallMs));
    }
  }

  /** Each live thread's CPU time (ns) and name, by thread id. */
  private record Threads(Map<Long, Long> cpu, Map<Long, String> names) {}

  private static Threads threadCpuNs() {
    Map<Long, Long> cpu = new HashMap<>();
    Map<Long, String> names = new HashMap<>();
    for (ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
      if (info == null) {
        continue; // ended since the ids were listed
      }
      long ns = THREADS.getThreadCpuTime(info.getThreadId());
      if (ns >= 0) {
        cpu.put(info.getThreadId(), ns);
        names.put(info.getThreadId(), info.getThreadName());
      }
    }
    return new Threads(cpu, names);
  }

  /**
   * CPU time (ms) of each of this JVM's own threads, keyed {@code <component>/<tid>} ({@link
   * Components#ofJvmThread}), from {@code /proc/self/task/<tid>/stat}; empty where /proc cannot be
   * read.
   */
  private static Map<String, Long> jvmThreadCpuMs() {
    return jvmThreadCpuMs("self");
  }

  /** The same for the JVM's own threads of process {@code pid} ({@code self} or a number). */
  private static Map<String, Long> jvmThreadCpuMs(String pid) {
    Map<String, Long> out = new TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc", pid, "task"))) {
      for (Path task : tasks.toList()) {
        try {
          String stat = Files.readString(task.resolve("stat")).strip();
          String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          String component = Components.ofJvmThread(comm);
          if (component != null) {
            out.put(component + "/" + task.getFileName(), parseStatCpuMs(stat, clockTicks()));
          }
        } catch (IOException | RuntimeException e) {
          // the thread ended while listed
        }
      }
    } catch (IOException | RuntimeException e) {
      return Map.of();
    }
    return out;
  }

  /**
   * CPU time (ms) so far of the JIT compiler threads of a process ({@code self} or a pid), from
   * {@code /proc/<pid>/task}; 0 where /proc cannot be read.
   */
  static long jitCpuMs(String pid) {
    return jvmThreadCpuMs(pid).entrySet().stream()
        .filter(e -> e.getKey().startsWith(Components.JVM_JIT + "/"))
        .mapToLong(Map.Entry::getValue)
        .sum();
  }

  private static long processCpuNs() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /**
   * A process's CPU time so far (user and system, ms) from {@code /proc/<pid>/stat}; null when it
   * cannot be read (no pid, not Linux, the process ended).
   */
  static Long brokerCpuMs(OptionalLong pid) {
    if (pid.isEmpty()) {
      return null;
    }
    try {
      String stat =
          Files.readString(Path.of("/proc", Long.toString(pid.getAsLong()), "stat")).strip();
      return parseStatCpuMs(stat, clockTicks());
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /**
   * utime + stime of a {@code /proc/<pid>/stat} line, in ms: fields 14 and 15, counted after the
   * command name in parentheses (which may itself contain spaces and parentheses).
   */
  static long parseStatCpuMs(String stat, long ticksPerSecond) {
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // fields[0] is field 3 (state): utime is field 14, stime field 15
    long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    return ticks * 1000 / ticksPerSecond;
  }

  /** {@code getconf CLK_TCK}, 100 when it cannot be run (the usual value on Linux). */
  private static long clockTicks() {
    Long ticks = clockTicks;
    if (ticks == null) {
      ticks = 100L;
      try {
        Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (p.waitFor() == 0 && out.matches("\\d+")) {
          ticks = Long.parseLong(out);
        }
      } catch (IOException e) {
        // keep 100
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      clockTicks = ticks;
    }
    return ticks;
  }
}
