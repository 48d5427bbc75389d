package dev.llmstreams.observability;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import dev.llmstreams.config.AppConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * HTTPS for the app's HTTP server: the key and certificate chain of {@code http.tls.keystore.file},
 * TLSv1.3 and TLSv1.2 only. {@link #client} is what the app's own HTTP clients (forwarding to
 * peers, the MCP tools asking this instance) trust: the JVM's trust store and this keystore's
 * certificates, so instances that share a keystore (or a CA in the JVM's trust store) reach each
 * other. Hostnames are verified as always: the certificate must name the hosts peers are reached by
 * ({@code http.advertised.host}) and {@code localhost}.
 */
public final class HttpTls {
  static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

  private final SSLContext server;
  private final SSLContext client;

  private HttpTls(SSLContext server, SSLContext client) {
    this.server = server;
    this.client = client;
  }

  /**
   * The TLS of {@code config}, empty when {@code http.tls.keystore.file} is not set.
   *
   * @throws ConfigException when the keystore or its password cannot be read, or holds no key
   */
  public static Optional<HttpTls> from(AppConfig config) {
    String file = config.getString(AppConfig.HTTP_TLS_KEYSTORE_FILE);
    if (file.isBlank()) {
      return Optional.empty();
    }
    char[] password = password(config);
    String type = config.getString(AppConfig.HTTP_TLS_KEYSTORE_TYPE).trim();
    try {
      return Optional.of(of(Path.of(file.trim()), type, password));
    } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
      // The JDK's messages name what failed (a wrong password, a bad format), never the password.
      throw new ConfigException(
          AppConfig.HTTP_TLS_KEYSTORE_FILE,
          file,
          "cannot be read as a " + type + " keystore: " + e.getMessage());
    } finally {
      Arrays.fill(password, '\0');
    }
  }

  /** The TLS of a keystore file, its password also the key's. */
  public static HttpTls of(Path file, String type, char[] password)
      throws IOException, GeneralSecurityException {
    KeyStore keys = KeyStore.getInstance(type);
    try (InputStream in = Files.newInputStream(file)) {
      keys.load(in, password);
    }
    List<X509Certificate> certificates = new ArrayList<>();
    boolean hasKey = false;
    for (String alias : Collections.list(keys.aliases())) {
      hasKey |= keys.isKeyEntry(alias);
      Certificate[] chain = keys.getCertificateChain(alias);
      if (chain != null) {
        for (Certificate c : chain) {
          if (c instanceof X509Certificate x) {
            certificates.add(x);
          }
        }
      } else if (keys.getCertificate(alias) instanceof X509Certificate x) {
        certificates.add(x);
      }
    }
    if (!hasKey) {
      throw new IllegalArgumentException("it holds no private key");
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, password);
    SSLContext server = SSLContext.getInstance("TLS");
    server.init(kmf.getKeyManagers(), null, null);

    KeyStore own = KeyStore.getInstance(KeyStore.getDefaultType());
    own.load(null, null);
    for (int i = 0; i < certificates.size(); i++) {
      own.setCertificateEntry("own-" + i, certificates.get(i));
    }
    SSLContext client = SSLContext.getInstance("TLS");
    client.init(null, new TrustManager[] {new EitherTrust(trust(null), trust(own))}, null);
    return new HttpTls(server, client);
  }

  private static char[] password(AppConfig config) {
    Password password = config.getPassword(AppConfig.HTTP_TLS_KEYSTORE_PASSWORD);
    if (password != null) {
      return password.value().toCharArray();
    }
    String file = config.getString(AppConfig.HTTP_TLS_KEYSTORE_PASSWORD_FILE);
    if (file.isBlank()) {
      return new char[0];
    }
    try {
      return Files.readString(Path.of(file.trim())).strip().toCharArray();
    } catch (IOException e) {
      throw new ConfigException(
          AppConfig.HTTP_TLS_KEYSTORE_PASSWORD_FILE, file, "cannot be read: " + e.getMessage());
    }
  }

  private static X509TrustManager trust(KeyStore store) throws GeneralSecurityException {
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X509 trust manager");
  }

  /** The server's configurator: TLSv1.3 and TLSv1.2 only, the JDK's cipher suites for them. */
  HttpsConfigurator configurator() {
    return new HttpsConfigurator(server) {
      @Override
      public void configure(HttpsParameters params) {
        SSLParameters p = getSSLContext().getDefaultSSLParameters();
        List<String> supported =
            Arrays.asList(getSSLContext().getSupportedSSLParameters().getProtocols());
        p.setProtocols(PROTOCOLS.stream().filter(supported::contains).toArray(String[]::new));
        params.setSSLParameters(p);
      }
    };
  }

  /** What the app's own clients trust: the JVM's trust store and this keystore's certificates. */
  public SSLContext client() {
    return client;
  }

  /** Trusts a server that either trust manager trusts (hostnames are verified by the caller). */
  private record EitherTrust(X509TrustManager first, X509TrustManager second)
      implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      try {
        first.checkClientTrusted(chain, authType);
      } catch (CertificateException e) {
        second.checkClientTrusted(chain, authType);
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      try {
        first.checkServerTrusted(chain, authType);
      } catch (CertificateException e) {
        second.checkServerTrusted(chain, authType);
      }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      List<X509Certificate> all = new ArrayList<>(Arrays.asList(first.getAcceptedIssuers()));
      all.addAll(Arrays.asList(second.getAcceptedIssuers()));
      return all.toArray(X509Certificate[]::new);
    }
  }
}
