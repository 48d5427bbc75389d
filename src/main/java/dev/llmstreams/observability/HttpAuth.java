package dev.llmstreams.observability;

import dev.llmstreams.config.AppConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * Who may call the HTTP server: bearer tokens with scopes (RFC 6750), from {@code
 * http.auth.tokens.file} and, for compatibility, {@code mcp.server.token}. Only the SHA-256 of each
 * token is kept; a presented token is hashed and compared with every known hash in constant time,
 * so neither the comparison nor the position of a match in the file shows in the timing. Tokens are
 * never logged or echoed in an error; their names are.
 *
 * <p>The file has one token per line, {@code name:scopes:token}: a name ({@code [A-Za-z0-9._@-]},
 * what logs and meters show), a comma list of {@link Scope scopes}, and the token as is (at least
 * {@value #MIN_TOKEN_LENGTH} characters) or as {@code sha256:<64 hex digits>} of its UTF-8 bytes.
 * Blank lines and lines starting with {@code #} are skipped.
 */
public final class HttpAuth {
  /** What a token may do. */
  public enum Scope {
    /**
     * GET the query routes (/goals, /syntheses, /specialist); MCP tools and resources that read.
     */
    READ,
    /**
     * MCP tools that produce (submit_goal, send_document, classify_text); any route that writes.
     */
    WRITE,
    /** GET /metrics. */
    METRICS;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Optional<Scope> parse(String s) {
      for (Scope scope : values()) {
        if (scope.label().equals(s)) {
          return Optional.of(scope);
        }
      }
      return Optional.empty();
    }
  }

  /** Why a request was refused, as the {@code reason} tag of the failure counter says it. */
  public enum Reason {
    /** No {@code Authorization: Bearer} header (401). */
    MISSING,
    /** A token that is not known (401). */
    INVALID,
    /** A known token without the route's scope (403). */
    INSUFFICIENT_SCOPE;

    public String tag() {
      return name().toLowerCase(Locale.ROOT);
    }

    public int status() {
      return this == INSUFFICIENT_SCOPE ? 403 : 401;
    }
  }

  /**
   * What a request's {@code Authorization} header amounts to for a scope: allowed ({@code reason}
   * null) or refused, with the token's name when the token is known (never the token).
   */
  public record Outcome(Reason reason, String name, Scope needed) {
    public boolean allowed() {
      return reason == null;
    }

    /** The {@code WWW-Authenticate} header of the refusal (RFC 6750, section 3). */
    public String challenge() {
      return switch (reason) {
        case MISSING -> "Bearer realm=\"" + REALM + "\"";
        case INVALID -> "Bearer realm=\"" + REALM + "\", error=\"invalid_token\"";
        case INSUFFICIENT_SCOPE ->
            "Bearer realm=\""
                + REALM
                + "\", error=\"insufficient_scope\", scope=\""
                + needed.label()
                + "\"";
      };
    }

    /** A short explanation for the client, without any token. */
    public String message() {
      return switch (reason) {
        case MISSING -> "Unauthorized: send Authorization: Bearer <token>";
        case INVALID -> "Unauthorized: the bearer token is not valid";
        case INSUFFICIENT_SCOPE ->
            "Forbidden: the token " + name + " lacks the scope " + needed.label();
      };
    }
  }

  /** A token: its name, its scopes and the SHA-256 of its UTF-8 bytes. */
  record Principal(String name, Set<Scope> scopes, byte[] sha256) {}

  public static final String REALM = "llm-streams";
  static final int MIN_TOKEN_LENGTH = 16;

  /** The name of the token of {@code mcp.server.token(.file)}. */
  static final String LEGACY_NAME = AppConfig.MCP_SERVER_TOKEN;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._@-]{1,64}");
  private static final Pattern SHA256 = Pattern.compile("sha256:[0-9a-fA-F]{64}");

  private final List<Principal> principals;
  private final Set<String> openPaths;

  private HttpAuth(List<Principal> principals, Set<String> openPaths) {
    this.principals = List.copyOf(principals);
    this.openPaths = Set.copyOf(openPaths);
  }

  /** No authentication: every request is served. */
  public static HttpAuth none() {
    return new HttpAuth(List.of(), Set.of());
  }

  /** The tokens of {@code tokensFile}, a tokens file's text; for tests. */
  static HttpAuth of(String tokensFile, Set<String> openPaths) {
    return new HttpAuth(parse(tokensFile), openPaths);
  }

  /**
   * The auth of the server as configured: none when {@code http.auth=none} or when no token is
   * configured (then {@link #refusal} says whether the app may start so).
   *
   * @throws ConfigException when the tokens file or {@code mcp.server.token.file} cannot be read or
   *     parsed
   */
  public static HttpAuth from(AppConfig config) {
    if (mode(config).equals("none")) {
      return none();
    }
    List<Principal> principals = principals(config);
    if (principals.isEmpty()) {
      return none();
    }
    return new HttpAuth(
        principals,
        config.getList(AppConfig.HTTP_AUTH_OPEN_PATHS).stream()
            .map(String::trim)
            .filter(s -> !s.isEmpty())
            .collect(Collectors.toSet()));
  }

  private static String mode(AppConfig config) {
    return config.getString(AppConfig.HTTP_AUTH).trim().toLowerCase(Locale.ROOT);
  }

  private static List<Principal> principals(AppConfig config) {
    List<Principal> out = new ArrayList<>();
    String file = config.getString(AppConfig.HTTP_AUTH_TOKENS_FILE);
    if (!file.isBlank()) {
      String text;
      try {
        text = Files.readString(Path.of(file.trim()));
      } catch (IOException e) {
        throw new ConfigException(
            AppConfig.HTTP_AUTH_TOKENS_FILE, file, "cannot be read: " + e.getMessage());
      }
      try {
        out.addAll(parse(text));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(AppConfig.HTTP_AUTH_TOKENS_FILE, file, e.getMessage());
      }
      if (out.isEmpty()) {
        throw new ConfigException(AppConfig.HTTP_AUTH_TOKENS_FILE, file, "holds no token");
      }
    }
    legacyToken(config)
        .ifPresent(
            t -> {
              if (out.stream().anyMatch(p -> p.name().equals(LEGACY_NAME))) {
                throw new ConfigException(
                    AppConfig.HTTP_AUTH_TOKENS_FILE,
                    file,
                    "names a token " + LEGACY_NAME + ", the name of mcp.server.token's");
              }
              out.add(new Principal(LEGACY_NAME, EnumSet.of(Scope.READ, Scope.WRITE), sha256(t)));
            });
    return out;
  }

  /** The token of {@code mcp.server.token}, else of the file {@code mcp.server.token.file}. */
  static Optional<String> legacyToken(AppConfig config) {
    return config.token(AppConfig.MCP_SERVER_TOKEN, AppConfig.MCP_SERVER_TOKEN_FILE);
  }

  /**
   * The tokens of a file's text. Errors name the line and what is wrong with it, never its content
   * beyond a token's name (a line may hold a token in the wrong place).
   */
  static List<Principal> parse(String text) {
    List<Principal> out = new ArrayList<>();
    Map<String, Integer> names = new HashMap<>();
    Map<String, Integer> hashes = new HashMap<>();
    String[] lines = text.split("\\R", -1);
    for (int i = 0; i < lines.length; i++) {
      int n = i + 1;
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] parts = line.split(":", 3);
      if (parts.length < 3) {
        throw bad(n, "expected name:scopes:token");
      }
      String name = parts[0].strip();
      if (!NAME.matcher(name).matches()) {
        throw bad(
            n,
            "the name must be 1 to 64 of the characters A-Z a-z 0-9 . _ @ - (name:scopes:token)");
      }
      Set<Scope> scopes = EnumSet.noneOf(Scope.class);
      for (String s : parts[1].split(",")) {
        Optional<Scope> scope = Scope.parse(s.strip().toLowerCase(Locale.ROOT));
        if (scope.isEmpty()) {
          throw bad(
              n,
              "the scopes must be a comma list of "
                  + List.of(Scope.values()).stream().map(Scope::label).toList()
                  + " (name:scopes:token)");
        }
        scopes.add(scope.get());
      }
      String token = parts[2].strip();
      byte[] hash;
      if (token.regionMatches(true, 0, "sha256:", 0, 7)) {
        if (!SHA256.matcher(token).matches()) {
          throw bad(n, "a hashed token is sha256: and 64 hexadecimal digits");
        }
        hash = HexFormat.of().parseHex(token.substring(7).toLowerCase(Locale.ROOT));
      } else {
        if (token.length() < MIN_TOKEN_LENGTH) {
          throw bad(
              n,
              "the token of "
                  + name
                  + " is shorter than "
                  + MIN_TOKEN_LENGTH
                  + " characters (generate one with: openssl rand -hex 32)");
        }
        hash = sha256(token);
      }
      Integer before = names.putIfAbsent(name, n);
      if (before != null) {
        throw bad(n, "the name " + name + " is also on line " + before);
      }
      before = hashes.putIfAbsent(HexFormat.of().formatHex(hash), n);
      if (before != null) {
        throw bad(n, "the token of " + name + " is also the one on line " + before);
      }
      out.add(new Principal(name, Collections.unmodifiableSet(scopes), hash));
    }
    return out;
  }

  private static IllegalArgumentException bad(int line, String why) {
    return new IllegalArgumentException("line " + line + ": " + why);
  }

  static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether requests need a token (on routes that are not open). */
  public boolean required() {
    return !principals.isEmpty();
  }

  /** Whether the route registered at {@code prefix} is served without a token. */
  public boolean open(String prefix) {
    return !required() || openPaths.contains(prefix);
  }

  /** The names of the tokens, for the log at start. */
  public List<String> names() {
    return principals.stream().map(Principal::name).toList();
  }

  /**
   * Checks an {@code Authorization} header for {@code needed} (null: any valid token). Every
   * configured hash is compared, in constant time, whatever matches.
   */
  public Outcome check(String authorization, Scope needed) {
    if (!required()) {
      return new Outcome(null, null, needed);
    }
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return new Outcome(Reason.MISSING, null, needed);
    }
    byte[] given = sha256(authorization.substring(7).strip());
    Principal match = null;
    for (Principal p : principals) {
      if (MessageDigest.isEqual(given, p.sha256()) && match == null) {
        match = p;
      }
    }
    if (match == null) {
      return new Outcome(Reason.INVALID, null, needed);
    }
    if (needed != null && !match.scopes().contains(needed)) {
      return new Outcome(Reason.INSUFFICIENT_SCOPE, match.name(), needed);
    }
    return new Outcome(null, match.name(), needed);
  }

  /**
   * Why the app must not start as configured, empty when it may: {@code http.auth=bearer} without
   * tokens, or {@code http.host} not loopback without tokens and without an explicit {@code
   * http.auth=none}.
   *
   * @throws ConfigException when a tokens file cannot be read or parsed
   */
  public static Optional<String> refusal(AppConfig config) {
    return refusal(config, from(config));
  }

  /** {@link #refusal(AppConfig)} of the {@code auth} built from {@code config} ({@link #from}). */
  public static Optional<String> refusal(AppConfig config, HttpAuth auth) {
    String mode = mode(config);
    if (mode.equals("none") || auth.required()) {
      return Optional.empty();
    }
    String host = config.getString(AppConfig.HTTP_HOST);
    String remedy =
        "set LLMSTREAMS_HTTP_AUTH_TOKENS_FILE ("
            + AppConfig.HTTP_AUTH_TOKENS_FILE
            + ") to a file of tokens (name:scopes:token per line, see docs/security.md)";
    if (mode.equals("bearer")) {
      return Optional.of(AppConfig.HTTP_AUTH + "=bearer but no token is configured: " + remedy);
    }
    if (loopback(host)) {
      return Optional.empty();
    }
    return Optional.of(
        "the HTTP server binds to "
            + host
            + ", which is not a loopback address, without authentication: "
            + remedy
            + ", bind to 127.0.0.1 ("
            + AppConfig.HTTP_HOST
            + "), or serve everyone who can reach it by setting "
            + AppConfig.HTTP_AUTH
            + "=none (LLMSTREAMS_HTTP_AUTH=none) explicitly");
  }

  /** What to warn of at start: authentication turned off beyond loopback, tokens ignored. */
  public static List<String> warnings(AppConfig config) {
    List<String> out = new ArrayList<>();
    if (!mode(config).equals("none")) {
      return out;
    }
    String host = config.getString(AppConfig.HTTP_HOST);
    if (!loopback(host)) {
      out.add(
          "the HTTP server binds to "
              + host
              + " without authentication ("
              + AppConfig.HTTP_AUTH
              + "=none): whoever reaches it reads goals and syntheses"
              + " and, through /mcp, produces work");
    }
    Set<String> ignored = new LinkedHashSet<>();
    if (!config.getString(AppConfig.HTTP_AUTH_TOKENS_FILE).isBlank()) {
      ignored.add(AppConfig.HTTP_AUTH_TOKENS_FILE);
    }
    Password legacy = config.getPassword(AppConfig.MCP_SERVER_TOKEN);
    if ((legacy != null && !legacy.value().isBlank())
        || !config.getString(AppConfig.MCP_SERVER_TOKEN_FILE).isBlank()) {
      ignored.add("mcp.server.token");
    }
    if (!ignored.isEmpty()) {
      out.add(AppConfig.HTTP_AUTH + "=none: the tokens of " + ignored + " are ignored");
    }
    return out;
  }

  /** Whether {@code host} names only loopback addresses (a name is resolved). */
  public static boolean loopback(String host) {
    String h = host.trim();
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (h.equalsIgnoreCase("localhost")) {
      return true;
    }
    try {
      InetAddress[] all = InetAddress.getAllByName(h);
      for (InetAddress a : all) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return all.length > 0;
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
