package dev.llmstreams.mcpserver;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which browser origins may call {@code /mcp} (the transport's DNS rebinding protection): a request
 * without an {@code Origin} header (an MCP client that is not a browser) is served; one with an
 * {@code Origin} only when it is a loopback origin ({@code localhost}, {@code 127.0.0.1}, {@code
 * [::1]}, any scheme http or https and any port) or one of {@code mcp.server.allowed.origins}.
 */
final class OriginPolicy {
  private static final Set<String> LOOPBACK_HOSTS = Set.of("localhost", "127.0.0.1", "[::1]");

  private final Set<String> allowed;

  OriginPolicy(List<String> allowed) {
    this.allowed =
        allowed.stream()
            .map(String::trim)
            .filter(s -> !s.isEmpty())
            .map(OriginPolicy::normalize)
            .collect(Collectors.toUnmodifiableSet());
  }

  boolean allows(String origin) {
    if (origin == null) {
      return true;
    }
    String o = normalize(origin.trim());
    if (allowed.contains(o)) {
      return true;
    }
    try {
      URI uri = new URI(o);
      String scheme = uri.getScheme();
      String host = uri.getHost();
      return ("http".equals(scheme) || "https".equals(scheme))
          && host != null
          && LOOPBACK_HOSTS.contains(host.toLowerCase(Locale.ROOT))
          && (uri.getRawPath() == null || uri.getRawPath().isEmpty())
          && uri.getRawUserInfo() == null;
    } catch (java.net.URISyntaxException e) {
      return false;
    }
  }

  private static String normalize(String origin) {
    String o = origin.toLowerCase(Locale.ROOT);
    return o.endsWith("/") ? o.substring(0, o.length() - 1) : o;
  }
}
