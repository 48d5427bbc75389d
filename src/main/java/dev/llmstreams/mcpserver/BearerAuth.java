package dev.llmstreams.mcpserver;

import dev.llmstreams.config.AppConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Optional;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * The bearer token of {@code /mcp}: {@code mcp.server.token} (the environment variable {@code
 * LLMSTREAMS_MCP_SERVER_TOKEN}), else the file {@code mcp.server.token.file}. When one is set,
 * every request must carry {@code Authorization: Bearer <token>}; when none is, the server may bind
 * to loopback only (the app refuses to start otherwise). Tokens are compared in constant time and
 * never logged.
 */
public final class BearerAuth {
  /** What a request's {@code Authorization} header amounts to. */
  enum Verdict {
    ALLOWED,
    MISSING,
    WRONG
  }

  private final byte[] token;

  private BearerAuth(String token) {
    this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
  }

  /** Every request allowed: no token configured. */
  static BearerAuth none() {
    return new BearerAuth(null);
  }

  static BearerAuth of(String token) {
    return new BearerAuth(token);
  }

  /** The configured token, if any. */
  public static Optional<String> token(AppConfig config) {
    Password password = config.getPassword(AppConfig.MCP_SERVER_TOKEN);
    if (password != null && !password.value().isBlank()) {
      return Optional.of(password.value().trim());
    }
    String file = config.getString(AppConfig.MCP_SERVER_TOKEN_FILE);
    if (file.isBlank()) {
      return Optional.empty();
    }
    String read;
    try {
      read = Files.readString(Path.of(file)).trim();
    } catch (IOException e) {
      throw new ConfigException(
          AppConfig.MCP_SERVER_TOKEN_FILE, file, "cannot be read: " + e.getMessage());
    }
    if (read.isEmpty()) {
      throw new ConfigException(AppConfig.MCP_SERVER_TOKEN_FILE, file, "is empty");
    }
    return Optional.of(read);
  }

  /**
   * Why the app must not serve {@code /mcp} as configured: bound to {@code host}, which is not a
   * loopback address, without a token. Empty when it may.
   */
  public static Optional<String> refusal(AppConfig config) {
    if (!config.getBoolean(AppConfig.MCP_SERVER_ENABLED)) {
      return Optional.empty();
    }
    String host = config.getString(AppConfig.HTTP_HOST);
    if (loopback(host) || token(config).isPresent()) {
      return Optional.empty();
    }
    return Optional.of(
        "the HTTP server binds to "
            + host
            + ", which is not a loopback address, and /mcp (the MCP server) has no bearer token:"
            + " set LLMSTREAMS_MCP_SERVER_TOKEN (or "
            + AppConfig.MCP_SERVER_TOKEN_FILE
            + " to a file holding it), bind to 127.0.0.1 ("
            + AppConfig.HTTP_HOST
            + "), or turn the MCP server off ("
            + AppConfig.MCP_SERVER_ENABLED
            + "=false)");
  }

  /** Whether {@code host} names only loopback addresses (a name is resolved). */
  static boolean loopback(String host) {
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

  /** The auth of the server as configured. */
  static BearerAuth from(AppConfig config) {
    return token(config).map(BearerAuth::of).orElseGet(BearerAuth::none);
  }

  boolean required() {
    return token != null;
  }

  Verdict check(String authorization) {
    if (token == null) {
      return Verdict.ALLOWED;
    }
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Verdict.MISSING;
    }
    byte[] given = authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(given, token) ? Verdict.ALLOWED : Verdict.WRONG;
  }
}
