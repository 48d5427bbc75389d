package dev.llmstreams.observability.tracing;

import dev.llmstreams.config.AppConfig;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.kafka.common.config.ConfigException;

/**
 * Whether and how this process records spans, from {@code tracing.*} settings and the standard
 * OpenTelemetry ones ({@code OTEL_*} environment variables, or {@code -Dotel.*} system properties,
 * which win as in the OpenTelemetry SDK).
 *
 * <p>With {@code tracing.enabled=auto} (the default) spans are recorded only when an exporter is
 * configured: {@code OTEL_TRACES_EXPORTER} names one other than {@code none}, or {@code
 * OTEL_EXPORTER_OTLP_ENDPOINT} / {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT} is set; {@code
 * OTEL_SDK_DISABLED=true} turns it off. The sampler is {@code OTEL_TRACES_SAMPLER} (default {@code
 * parentbased_always_on}) with {@code OTEL_TRACES_SAMPLER_ARG}.
 */
public final class TracingSettings {
  private final boolean recording;
  private final boolean captureContent;
  private final boolean export;
  private final Sampler sampler;

  private TracingSettings(
      boolean recording, boolean captureContent, boolean export, Sampler sampler) {
    this.recording = recording;
    this.captureContent = captureContent;
    this.export = export;
    this.sampler = sampler;
  }

  /** From the app config and this process's environment and system properties. */
  public static TracingSettings of(AppConfig config) {
    return of(config, otel(System.getenv(), System.getProperties()));
  }

  /** From the app config and an {@code otel.*} property lookup (tests). */
  public static TracingSettings of(AppConfig config, UnaryOperator<String> otel) {
    String enabled = config.getString(AppConfig.TRACING_ENABLED).trim().toLowerCase(Locale.ROOT);
    boolean recording =
        switch (enabled) {
          case "true" -> true;
          case "false" -> false;
          default -> exporterConfigured(otel);
        };
    return new TracingSettings(
        recording,
        config.getBoolean(AppConfig.TRACING_CAPTURE_CONTENT),
        config.getBoolean(AppConfig.TRACING_EXPORT),
        sampler(otel));
  }

  /** Looks an {@code otel.*} key up as a system property, then as its environment variable. */
  public static Otel otel(Map<String, String> env, java.util.Properties properties) {
    return new Otel(Map.copyOf(env), (java.util.Properties) properties.clone());
  }

  /**
   * The standard OpenTelemetry settings of one process: {@code otel.*} system properties over
   * {@code OTEL_*} environment variables, as the SDK reads them. A lookup by property name ({@code
   * otel.exporter.otlp.endpoint}), and all of them at once for the SDK's autoconfiguration (so a
   * test can hand the span exporter its own settings instead of the process's).
   */
  public static final class Otel implements UnaryOperator<String> {
    private final Map<String, String> env;
    private final java.util.Properties properties;

    private Otel(Map<String, String> env, java.util.Properties properties) {
      this.env = env;
      this.properties = properties;
    }

    @Override
    public String apply(String key) {
      String p = properties.getProperty(key);
      if (p != null && !p.isBlank()) {
        return p.trim();
      }
      String e = env.get(key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'));
      return e == null || e.isBlank() ? null : e.trim();
    }

    /**
     * Every {@code OTEL_*} variable and {@code otel.*} property, named as the SDK's
     * autoconfiguration names them ({@code OTEL_EXPORTER_OTLP_ENDPOINT} as {@code
     * otel.exporter.otlp.endpoint}); a property wins over its variable.
     */
    public Map<String, String> properties() {
      Map<String, String> out = new java.util.HashMap<>();
      env.forEach(
          (k, v) -> {
            if (k.startsWith("OTEL_") && v != null && !v.isBlank()) {
              out.put(k.toLowerCase(Locale.ROOT).replace('_', '.'), v.trim());
            }
          });
      for (String k : properties.stringPropertyNames()) {
        String v = properties.getProperty(k);
        if (k.startsWith("otel.") && v != null && !v.isBlank()) {
          out.put(k.toLowerCase(Locale.ROOT).replace('-', '.'), v.trim());
        }
      }
      return out;
    }
  }

  static boolean exporterConfigured(UnaryOperator<String> otel) {
    if ("true".equalsIgnoreCase(otel.apply("otel.sdk.disabled"))) {
      return false;
    }
    String exporter = otel.apply("otel.traces.exporter");
    if (exporter != null) {
      return !exporter.equalsIgnoreCase("none");
    }
    return otel.apply("otel.exporter.otlp.endpoint") != null
        || otel.apply("otel.exporter.otlp.traces.endpoint") != null;
  }

  /** The sampler {@code OTEL_TRACES_SAMPLER} names, as the OpenTelemetry SDK defines them. */
  static Sampler sampler(UnaryOperator<String> otel) {
    String name = otel.apply("otel.traces.sampler");
    String arg = otel.apply("otel.traces.sampler.arg");
    String kind = name == null ? "parentbased_always_on" : name.toLowerCase(Locale.ROOT);
    return switch (kind) {
      case "always_on" -> Sampler.alwaysOn();
      case "always_off" -> Sampler.alwaysOff();
      case "traceidratio" -> Sampler.traceIdRatioBased(ratio(arg));
      case "parentbased_always_on" -> Sampler.parentBased(Sampler.alwaysOn());
      case "parentbased_always_off" -> Sampler.parentBased(Sampler.alwaysOff());
      case "parentbased_traceidratio" -> Sampler.parentBased(Sampler.traceIdRatioBased(ratio(arg)));
      default ->
          throw new ConfigException(
              "otel.traces.sampler",
              name,
              "unknown sampler; use always_on, always_off, traceidratio, parentbased_always_on,"
                  + " parentbased_always_off or parentbased_traceidratio");
    };
  }

  private static double ratio(String arg) {
    if (arg == null) {
      return 1.0;
    }
    try {
      double r = Double.parseDouble(arg);
      if (r < 0 || r > 1) {
        throw new NumberFormatException();
      }
      return r;
    } catch (NumberFormatException e) {
      throw new ConfigException("otel.traces.sampler.arg", arg, "must be a ratio between 0 and 1");
    }
  }

  public boolean recording() {
    return recording;
  }

  /** Whether this process runs the span exporter (reads {@code spans}, ships over OTLP). */
  public boolean export() {
    return recording && export;
  }

  /** The tracing of one Streams application of this process. */
  public Tracing forService(String service) {
    return recording ? Tracing.recording(service, sampler, captureContent) : Tracing.off(service);
  }
}
