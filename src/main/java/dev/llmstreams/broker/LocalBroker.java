package dev.llmstreams.broker;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;

/**
 * A real single-node KRaft Kafka broker (combined broker + controller) run as a detached child JVM
 * from the jars this application already ships, so users without Docker get a real broker.
 *
 * <p>Everything lives under {@link Settings#home()}: {@code server.properties}, {@code
 * log4j2.properties}, {@code cluster.id}, {@code broker.pid}, {@code broker.log} and the log
 * segments in {@code data/}.
 */
public final class LocalBroker {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 9092;
  public static final int DEFAULT_CONTROLLER_PORT = 9093;
  public static final String DEFAULT_HEAP = "1g";
  public static final Path DEFAULT_HOME = Path.of(".llm-streams", "kafka");
  static final String MAIN_CLASS = "kafka.Kafka";
  private static final int NODE_ID = 1;
  private static final int LOG_TAIL_LINES = 30;
  private static final Duration FORMAT_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration KILL_GRACE = Duration.ofSeconds(10);
  private static final long MAX_LOG_BYTES = 50L * 1024 * 1024;
  private static final Pattern HEAP = Pattern.compile("\\d+[kKmMgG]?");

  /**
   * Where and how the broker runs; ports are the client (PLAINTEXT) and controller (KRaft)
   * listeners.
   */
  public record Settings(Path home, String host, int port, int controllerPort, String heap) {
    public Settings {
      if (home == null) {
        throw new IllegalArgumentException("broker home must be set");
      }
      if (host == null || host.isBlank()) {
        throw new IllegalArgumentException("broker host must be set");
      }
      checkPort("kafka.port", port);
      checkPort("kafka.controller.port", controllerPort);
      if (port == controllerPort) {
        throw new IllegalArgumentException(
            "kafka.port and the controller port must differ (both are " + port + ")");
      }
      if (heap == null || !HEAP.matcher(heap).matches()) {
        throw new IllegalArgumentException(
            "broker heap must look like 512m or 1g, got '" + heap + "'");
      }
    }

    /** 127.0.0.1:9092 (controller 9093), 1 GiB heap, in {@code .llm-streams/kafka}. */
    public static Settings defaults() {
      return new Settings(
          DEFAULT_HOME, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_CONTROLLER_PORT, DEFAULT_HEAP);
    }

    public Settings withHome(Path newHome) {
      return new Settings(newHome, host, port, controllerPort, heap);
    }

    public String bootstrap() {
      return host + ":" + port;
    }

    private static void checkPort(String name, int value) {
      if (value < 1 || value > 65535) {
        throw new IllegalArgumentException(name + " must be between 1 and 65535, got " + value);
      }
    }
  }

  public record StartResult(Outcome outcome, long pid, String bootstrap, Duration elapsed) {
    public enum Outcome {
      STARTED,
      ALREADY_RUNNING
    }
  }

  public record StopResult(Outcome outcome, long pid, boolean forced, Duration elapsed) {
    public enum Outcome {
      STOPPED,
      NOT_RUNNING
    }
  }

  /** {@code running} means the process is alive and its client port accepts connections. */
  public record Status(boolean running, Optional<Long> pid, String bootstrap, Path home) {}

  /** A start or stop that could not be done; the message is meant for the user as is. */
  public static class BrokerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BrokerException(String message) {
      super(message);
    }

    public BrokerException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** A port the broker needs is taken by another process. */
  public static final class PortInUseException extends BrokerException {
    private static final long serialVersionUID = 1L;
    private final int port;

    PortInUseException(int port, String message) {
      super(message);
      this.port = port;
    }

    public int port() {
      return port;
    }
  }

  private final Settings settings;
  private final Path home;

  public LocalBroker(Settings settings) {
    this.settings = settings;
    this.home = settings.home().toAbsolutePath().normalize();
  }

  public Settings settings() {
    return settings;
  }

  public Path logFile() {
    return home.resolve("broker.log");
  }

  private Path pidFile() {
    return home.resolve("broker.pid");
  }

  private Path serverProperties() {
    return home.resolve("server.properties");
  }

  private Path log4jConfig() {
    return home.resolve("log4j2.properties");
  }

  private Path clusterIdFile() {
    return home.resolve("cluster.id");
  }

  private Path dataDir() {
    return home.resolve("data");
  }

  // ---------------------------------------------------------------------------------------------
  // start

  /** Starts the broker unless this home's broker already runs; returns once it answers clients. */
  public synchronized StartResult start(Duration timeout) {
    long begin = System.nanoTime();
    try {
      Files.createDirectories(home);
    } catch (IOException e) {
      throw new BrokerException(
          "cannot create the Kafka broker home " + home + ": " + e.getMessage(), e);
    }
    // Two `kafka start` at once (say, two terminals) must not launch two brokers on one data dir.
    try (FileChannel lockFile =
        FileChannel.open(
            home.resolve("start.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      FileLock lock = lockFile.lock();
      try {
        return startLocked(timeout, begin);
      } finally {
        lock.release();
      }
    } catch (IOException e) {
      throw new BrokerException(
          "cannot lock " + home.resolve("start.lock") + ": " + e.getMessage(), e);
    }
  }

  private StartResult startLocked(Duration timeout, long begin) {
    Optional<ProcessHandle> running = ourProcess();
    if (running.isPresent()) {
      String configured = configuredBootstrap().orElse(settings.bootstrap());
      if (!configured.equals(settings.bootstrap())) {
        throw new BrokerException(
            "the Kafka broker of "
                + settings.home()
                + " already runs on "
                + configured
                + " (pid "
                + running.get().pid()
                + "); stop it first to move it to "
                + settings.bootstrap());
      }
      awaitReady(running.get(), timeout, begin);
      return new StartResult(
          StartResult.Outcome.ALREADY_RUNNING,
          running.get().pid(),
          settings.bootstrap(),
          elapsedSince(begin));
    }
    deletePidFile();
    ensurePortFree(settings.port(), "kafka.port (LLMSTREAMS_KAFKA_PORT)");
    ensurePortFree(
        settings.controllerPort(), "kafka.controller.port (LLMSTREAMS_KAFKA_CONTROLLER_PORT)");
    try {
      writeIfChanged(serverProperties(), serverPropertiesText());
      writeIfChanged(log4jConfig(), LOG4J2_PROPERTIES);
      if (!Files.exists(dataDir().resolve("meta.properties"))) {
        format();
      }
      ProcessHandle broker = launch();
      awaitReady(broker, timeout, begin);
      return new StartResult(
          StartResult.Outcome.STARTED, broker.pid(), settings.bootstrap(), elapsedSince(begin));
    } catch (IOException e) {
      throw new BrokerException(
          "cannot prepare the Kafka broker in " + home + ": " + e.getMessage(), e);
    }
  }

  private void ensurePortFree(int port, String setting) {
    InetAddress address = address();
    try (ServerSocket socket = new ServerSocket()) {
      // Same as the broker's own socket: a port in TIME_WAIT after our last stop is free.
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(address, port));
    } catch (IOException e) {
      throw new PortInUseException(
          port,
          "port "
              + port
              + " on "
              + settings.host()
              + " is already in use by another process; choose another with "
              + setting);
    }
  }

  private InetAddress address() {
    try {
      return InetAddress.getByName(settings.host());
    } catch (UnknownHostException e) {
      throw new BrokerException("unknown broker host '" + settings.host() + "'", e);
    }
  }

  String serverPropertiesText() {
    String host = settings.host();
    String dataDir = dataDir().toString().replace("\\", "/");
    return String.join(
        "\n",
        "# Written by llm-streams for a single-node KRaft broker; rewritten at start when the settings change.",
        "process.roles=broker,controller",
        "node.id=" + NODE_ID,
        "controller.quorum.voters=" + NODE_ID + "@" + host + ":" + settings.controllerPort(),
        "listeners=PLAINTEXT://"
            + host
            + ":"
            + settings.port()
            + ",CONTROLLER://"
            + host
            + ":"
            + settings.controllerPort(),
        "advertised.listeners=PLAINTEXT://" + host + ":" + settings.port(),
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "log.dirs=" + dataDir,
        "num.partitions=1",
        "auto.create.topics.enable=false",
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        // The same for streams groups (group.protocol=streams), whose session timeout may go as low
        // as a classic group's (6 s) on this development broker; Kafka's default floor is 45 s.
        "group.streams.initial.rebalance.delay.ms=0",
        "group.streams.min.session.timeout.ms=6000",
        "group.streams.min.heartbeat.interval.ms=1000",
        "");
  }

  // The broker logs to stdout, which start() sends to broker.log: one writer, no rotation races.
  private static final String LOG4J2_PROPERTIES =
      String.join(
          "\n",
          "# Written by llm-streams: the local broker logs at INFO to stdout, which goes to broker.log.",
          "status = warn",
          "appender.out.type = Console",
          "appender.out.name = out",
          "appender.out.target = SYSTEM_OUT",
          "appender.out.layout.type = PatternLayout",
          "appender.out.layout.pattern = [%d] %p %m (%c)%n",
          "rootLogger.level = info",
          "rootLogger.appenderRef.out.ref = out",
          "logger.request.name = kafka.request.logger",
          "logger.request.level = warn",
          "logger.statechange.name = state.change.logger",
          "logger.statechange.level = warn",
          "logger.controller.name = kafka.controller",
          "logger.controller.level = warn",
          "logger.cleaner.name = kafka.log.LogCleaner",
          "logger.cleaner.level = warn",
          "logger.clientconfig.name = org.apache.kafka.common.config.AbstractConfig",
          "logger.clientconfig.level = warn",
          "logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser",
          "logger.appinfo.level = warn",
          "");

  private void format() throws IOException {
    String clusterId = clusterId();
    List<String> command = javaCommand("256m");
    command.addAll(
        List.of(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            clusterId,
            "-c",
            serverProperties().toString(),
            "--ignore-formatted"));
    Path output = home.resolve("format.log");
    Process process =
        new ProcessBuilder(command)
            .directory(home.toFile())
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
            .start();
    try {
      if (!process.waitFor(FORMAT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new BrokerException(
            "formatting Kafka storage in "
                + dataDir()
                + " took more than "
                + FORMAT_TIMEOUT.toSeconds()
                + " s; see "
                + output);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new BrokerException("interrupted while formatting Kafka storage", e);
    }
    if (process.exitValue() != 0) {
      throw new BrokerException(
          "formatting Kafka storage in "
              + dataDir()
              + " failed (exit "
              + process.exitValue()
              + "):\n"
              + tail(output, LOG_TAIL_LINES));
    }
  }

  /**
   * One cluster id per home, kept so storage can be re-formatted consistently if data/ is removed.
   */
  private String clusterId() throws IOException {
    Path file = clusterIdFile();
    if (Files.exists(file)) {
      String id = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (!id.isEmpty()) {
        return id;
      }
    }
    // What `kafka-storage random-uuid` prints, without paying for another JVM.
    String id = Uuid.randomUuid().toString();
    Files.writeString(file, id + "\n", StandardCharsets.UTF_8);
    return id;
  }

  private ProcessHandle launch() throws IOException {
    List<String> command = new ArrayList<>();
    // setsid puts the broker in its own session, so Ctrl-C in the user's terminal does not reach
    // it.
    // Our JVM is not a process-group leader, so setsid execs in place and the pid stays the
    // broker's.
    if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
      command.add("/usr/bin/setsid");
    }
    command.addAll(javaCommand(settings.heap()));
    command.add(MAIN_CLASS);
    command.add(serverProperties().toString());
    Path log = logFile();
    if (Files.exists(log) && Files.size(log) > MAX_LOG_BYTES) {
      Files.move(log, home.resolve("broker.log.1"), StandardCopyOption.REPLACE_EXISTING);
    }
    Files.writeString(
        log,
        "=== llm-streams: starting Kafka broker on "
            + settings.bootstrap()
            + " at "
            + Instant.now()
            + " ===\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    Process process =
        new ProcessBuilder(command)
            .directory(home.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
            .start();
    Files.writeString(pidFile(), process.pid() + "\n", StandardCharsets.UTF_8);
    return process.toHandle();
  }

  private List<String> javaCommand(String heap) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx" + heap);
    command.add("-Djava.awt.headless=true");
    command.add("-Dlog4j2.configurationFile=" + log4jConfig().toUri());
    command.add("-cp");
    command.add(String.join(File.pathSeparator, childClasspath()));
    return command;
  }

  private static File nullDevice() {
    return new File(File.separatorChar == '\\' ? "NUL" : "/dev/null");
  }

  private void awaitReady(ProcessHandle broker, Duration timeout, long begin) {
    long deadline = begin + timeout.toNanos();
    // A plain TCP probe first: the AdminClient would log a warning for every refused connection.
    while (!portAnswers()) {
      if (waitForExit(broker, deadline)) {
        throw died(broker);
      }
    }
    Properties config = new Properties();
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
    config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
    config.put(AdminClientConfig.CLIENT_ID_CONFIG, "llm-streams-broker-probe");
    try (Admin admin = Admin.create(config)) {
      while (true) {
        try {
          admin
              .describeCluster(new DescribeClusterOptions().timeoutMs(3000))
              .clusterId()
              .get(4, TimeUnit.SECONDS);
          return;
        } catch (ExecutionException | TimeoutException e) {
          if (waitForExit(broker, deadline)) {
            throw died(broker);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new BrokerException("interrupted while waiting for the Kafka broker", e);
        }
      }
    }
  }

  /** Waits a little; true if the broker exited, throws once the deadline has passed. */
  private boolean waitForExit(ProcessHandle broker, long deadlineNanos) {
    long left = deadlineNanos - System.nanoTime();
    if (left <= 0) {
      throw new BrokerException(
          "the Kafka broker (pid "
              + broker.pid()
              + ") did not answer on "
              + settings.bootstrap()
              + " in time; it keeps running, see "
              + logFile()
              + "\n"
              + tail(logFile(), LOG_TAIL_LINES));
    }
    try {
      broker.onExit().get(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return !broker.isAlive();
    } catch (ExecutionException e) {
      return !broker.isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrokerException("interrupted while waiting for the Kafka broker", e);
    }
  }

  private BrokerException died(ProcessHandle broker) {
    deletePidFile();
    return new BrokerException(
        "the Kafka broker (pid "
            + broker.pid()
            + ") exited during start; last lines of "
            + logFile()
            + ":\n"
            + tail(logFile(), LOG_TAIL_LINES));
  }

  // ---------------------------------------------------------------------------------------------
  // stop and status

  /** SIGTERM (a clean, ~3 s shutdown), then SIGKILL if it has not exited within the timeout. */
  public synchronized StopResult stop(Duration timeout) {
    long begin = System.nanoTime();
    Optional<ProcessHandle> running = ourProcess();
    if (running.isEmpty()) {
      deletePidFile();
      return new StopResult(StopResult.Outcome.NOT_RUNNING, -1, false, elapsedSince(begin));
    }
    ProcessHandle broker = running.get();
    broker.destroy();
    boolean forced = false;
    if (!exited(broker, timeout)) {
      forced = true;
      broker.destroyForcibly();
      if (!exited(broker, KILL_GRACE)) {
        throw new BrokerException(
            "the Kafka broker (pid " + broker.pid() + ") did not exit after SIGKILL");
      }
    }
    deletePidFile();
    return new StopResult(StopResult.Outcome.STOPPED, broker.pid(), forced, elapsedSince(begin));
  }

  private static boolean exited(ProcessHandle process, Duration timeout) {
    try {
      process.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      return !process.isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrokerException("interrupted while stopping the Kafka broker", e);
    }
  }

  /**
   * Deletes the broker's data, so that a next start formats afresh (with the same cluster id);
   * keeps {@code broker.log} and the configuration. For throwaway brokers (a bench's): refused
   * while the broker runs.
   */
  public synchronized void deleteData() {
    if (ourProcess().isPresent()) {
      throw new BrokerException(
          "the Kafka broker under " + home + " is running: stop it before deleting its data");
    }
    Path data = dataDir();
    try {
      org.apache.kafka.common.utils.Utils.delete(data.toFile()); // nothing to do when absent
    } catch (IOException e) {
      throw new BrokerException("cannot delete the Kafka broker's data " + data + ": " + e, e);
    }
  }

  public Status status() {
    Optional<ProcessHandle> running = ourProcess();
    String bootstrap = configuredBootstrap().orElse(settings.bootstrap());
    return new Status(
        running.isPresent() && portAnswers(bootstrap),
        running.map(ProcessHandle::pid),
        bootstrap,
        settings.home());
  }

  private boolean portAnswers() {
    return portAnswers(settings.bootstrap());
  }

  private static boolean portAnswers(String bootstrap) {
    int colon = bootstrap.lastIndexOf(':');
    try (Socket socket = new Socket()) {
      socket.connect(
          new InetSocketAddress(
              bootstrap.substring(0, colon), Integer.parseInt(bootstrap.substring(colon + 1))),
          1000);
      return true;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** The host:port the broker of this home was last configured with, if it ever was. */
  private Optional<String> configuredBootstrap() {
    Path file = serverProperties();
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    Properties properties = new Properties();
    try (var reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      properties.load(reader);
    } catch (IOException e) {
      return Optional.empty();
    }
    String advertised = properties.getProperty("advertised.listeners", "");
    String prefix = "PLAINTEXT://";
    return advertised.startsWith(prefix)
        ? Optional.of(advertised.substring(prefix.length()).split(",")[0])
        : Optional.empty();
  }

  /** The live process named by the pid file, if it is this home's broker (pids get reused). */
  private Optional<ProcessHandle> ourProcess() {
    Path file = pidFile();
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    long pid;
    try {
      pid = Long.parseLong(Files.readString(file, StandardCharsets.UTF_8).strip());
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(this::isOurBroker);
  }

  private boolean isOurBroker(ProcessHandle process) {
    String commandLine = commandLine(process);
    if (commandLine == null) {
      return true; // the OS will not tell; trust the pid file rather than start a second broker
    }
    return commandLine.contains(MAIN_CLASS) && commandLine.contains(serverProperties().toString());
  }

  private static String commandLine(ProcessHandle process) {
    // /proc has the full command line; ProcessHandle.Info may truncate a long class path.
    Path proc = Path.of("/proc", Long.toString(process.pid()), "cmdline");
    try {
      if (Files.isReadable(proc)) {
        return new String(Files.readAllBytes(proc), StandardCharsets.UTF_8).replace('\0', ' ');
      }
    } catch (IOException e) {
      // fall through to what the JDK knows
    }
    return process.info().commandLine().orElse(null);
  }

  private void deletePidFile() {
    try {
      Files.deleteIfExists(pidFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // class path of the child JVM

  /**
   * This JVM's class path with every manifest {@code Class-Path} expanded to absolute paths: under
   * {@code java -jar llm-streams.jar} it is one jar pointing at {@code lib/}; under
   * Surefire/Failsafe it may be a manifest-only booter jar in a temp dir that is deleted when the
   * tests end.
   */
  public static List<String> childClasspath() {
    String classPath = System.getProperty("java.class.path", "");
    Set<String> entries = new LinkedHashSet<>();
    for (String entry : classPath.split(Pattern.quote(File.pathSeparator))) {
      if (entry.isBlank()) {
        continue;
      }
      Path path = Path.of(entry).toAbsolutePath().normalize();
      if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".jar")) {
        JarInfo jar = readJar(path);
        if (!jar.manifestOnly()) {
          entries.add(path.toString());
        }
        entries.addAll(jar.classPath());
      } else {
        entries.add(path.toString());
      }
    }
    return new ArrayList<>(entries);
  }

  private record JarInfo(boolean manifestOnly, List<String> classPath) {}

  private static JarInfo readJar(Path jarPath) {
    try (JarFile jar = new JarFile(jarPath.toFile())) {
      boolean manifestOnly = true;
      for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements() && manifestOnly; ) {
        String name = e.nextElement().getName();
        manifestOnly = name.startsWith("META-INF/");
      }
      Manifest manifest = jar.getManifest();
      String value = manifest == null ? null : manifest.getMainAttributes().getValue("Class-Path");
      List<String> classPath = new ArrayList<>();
      if (value != null) {
        URI base = jarPath.getParent().toUri();
        for (String item : value.trim().split("\\s+")) {
          if (item.isEmpty()) {
            continue;
          }
          // Entries are URLs relative to the jar's directory (lib/x.jar) or absolute (file:/...).
          Path resolved = Path.of(base.resolve(item));
          if (Files.exists(resolved)) {
            classPath.add(resolved.toString());
          }
        }
      }
      return new JarInfo(manifestOnly, classPath);
    } catch (IOException | RuntimeException e) {
      return new JarInfo(false, List.of());
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static void writeIfChanged(Path file, String text) throws IOException {
    if (!Files.exists(file) || !Files.readString(file, StandardCharsets.UTF_8).equals(text)) {
      Files.writeString(file, text, StandardCharsets.UTF_8);
    }
  }

  static String tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log at " + file + ")";
    }
  }

  private static Duration elapsedSince(long beginNanos) {
    return Duration.ofNanos(System.nanoTime() - beginNanos);
  }

  @Override
  public String toString() {
    return "LocalBroker[" + settings.bootstrap() + ", " + home + "]";
  }
}
