package dev.llmstreams.testkit;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.metadata.bootstrap.BootstrapMetadata;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A secured single-node KRaft cluster in the test JVM: clients connect over {@code SASL_SSL} (TLS
 * with the test kit's own CA) and authenticate with {@code SCRAM-SHA-512}; Kafka's {@code
 * StandardAuthorizer} allows nothing that no ACL grants ({@code
 * allow.everyone.if.no.acl.found=false}). The broker talks to itself as the super user {@code
 * admin} over {@code PLAIN}.
 *
 * <p>Every user given to {@link #start} may sign in with SCRAM-SHA-512 (Java clients here) and with
 * PLAIN (over TLS): librdkafka before 2.6.1, which Debian 12's kcat is built on (2.0.2), fails
 * SCRAM against Kafka 4 brokers (edenhill/kcat#462), so kcat signs in with PLAIN.
 */
public final class SecuredKafkaCluster implements AutoCloseable {
  private static final String LISTENER = "EXTERNAL";
  public static final String ADMIN = "admin";
  private static final String ADMIN_PASSWORD = "admin-test-secret";

  private final KafkaClusterTestKit testKit;
  private final Map<String, String> passwords = new HashMap<>();
  private final Map<String, Object> ssl;
  private final Path caPem;
  private final Admin admin;

  private SecuredKafkaCluster(KafkaClusterTestKit testKit, Path dir) throws Exception {
    this.testKit = testKit;
    this.ssl = testKit.sslManager().createClientSslConfig();
    this.caPem = dir.resolve("ca.pem");
    writeCaPem(ssl, caPem);
    passwords.put(ADMIN, ADMIN_PASSWORD);
    this.admin = Admin.create(new HashMap<>(plainAdminProps()));
  }

  /**
   * Starts the cluster with these users (name to password); {@code dir} receives the CA certificate
   * for non-Java clients.
   */
  public static SecuredKafkaCluster start(Path dir, Map<String, String> users) throws Exception {
    MetadataVersion version = MetadataVersion.latestProduction();
    Map<String, Short> features = new TreeMap<>();
    for (Feature feature : Feature.PRODUCTION_FEATURES) {
      features.put(feature.featureName(), feature.defaultLevel(version));
    }
    TestKitNodes nodes =
        new TestKitNodes.Builder(
                BootstrapMetadata.fromVersions(version, features, "llm-streams secured testkit"))
            .setCombined(true)
            .setNumBrokerNodes(1)
            .setNumControllerNodes(1)
            .setBrokerListenerName(new ListenerName(LISTENER))
            .setBrokerSecurityProtocol(SecurityProtocol.SASL_SSL)
            // The controller's own listener authenticates too (as the super user), so no
            // unauthenticated principal needs a grant.
            .setControllerSecurityProtocol(SecurityProtocol.SASL_PLAINTEXT)
            .build();
    KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes);
    Map<String, String> config = new LinkedHashMap<>();
    config.put("group.initial.rebalance.delay.ms", "0");
    config.put("auto.create.topics.enable", "false");
    config.put("offsets.topic.num.partitions", "1");
    config.put("offsets.topic.replication.factor", "1");
    config.put("transaction.state.log.num.partitions", "1");
    config.put("transaction.state.log.replication.factor", "1");
    config.put("transaction.state.log.min.isr", "1");
    config.put("share.coordinator.state.topic.replication.factor", "1");
    config.put("share.coordinator.state.topic.min.isr", "1");
    config.put("share.coordinator.state.topic.num.partitions", "1");
    config.put("min.insync.replicas", "1");
    config.put("default.replication.factor", "1");
    config.put("num.partitions", "1");
    // PLAIN for the broker itself (the super user), SCRAM-SHA-512 for every client.
    config.put("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-512");
    config.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
    config.put("sasl.mechanism.controller.protocol", "PLAIN");
    String plain =
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
            + ADMIN
            + "\" password=\""
            + ADMIN_PASSWORD
            + "\" user_"
            + ADMIN
            + "=\""
            + ADMIN_PASSWORD
            + "\"";
    StringBuilder plainUsers = new StringBuilder(plain);
    users.forEach(
        (user, password) ->
            plainUsers.append(" user_").append(user).append("=\"").append(password).append('"'));
    String listener = "listener.name." + LISTENER.toLowerCase(java.util.Locale.ROOT) + ".";
    config.put(listener + "plain.sasl.jaas.config", plainUsers + ";");
    config.put("listener.name.controller.sasl.enabled.mechanisms", "PLAIN");
    config.put("listener.name.controller.plain.sasl.jaas.config", plain + ";");
    config.put(
        listener + "scram-sha-512.sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required;");
    config.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    config.put("allow.everyone.if.no.acl.found", "false");
    config.put("super.users", "User:" + ADMIN);
    config.forEach(builder::setConfigProp);
    KafkaClusterTestKit testKit = builder.build();
    try {
      testKit.format();
      testKit.startup();
      testKit.waitForReadyBrokers();
      SecuredKafkaCluster cluster = new SecuredKafkaCluster(testKit, dir);
      for (Map.Entry<String, String> user : users.entrySet()) {
        cluster.addScramUser(user.getKey(), user.getValue());
      }
      return cluster;
    } catch (Exception e) {
      testKit.close();
      throw e;
    }
  }

  /** Makes a SCRAM-SHA-512 credential (as the super user). */
  private void addScramUser(String user, String password) throws Exception {
    admin
        .alterUserScramCredentials(
            List.of(
                new UserScramCredentialUpsertion(
                    user, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password)))
        .all()
        .get();
    passwords.put(user, password);
    // The credential reaches the broker's cache with the metadata record: wait until it signs in.
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(
            () -> {
              try (Admin probe = Admin.create(new HashMap<>(clientProps(user)))) {
                probe.describeCluster().clusterId().get();
                return true;
              }
            });
  }

  public String bootstrapServers() {
    return testKit.bootstrapServers();
  }

  /** The super user's admin client; closed with the cluster. */
  public Admin admin() {
    return admin;
  }

  /** Java client settings for {@code user} (bootstrap, SASL_SSL, SCRAM-SHA-512, trust store). */
  public Map<String, Object> clientProps(String user) {
    String password = passwords.get(user);
    if (password == null) {
      throw new IllegalArgumentException("no user " + user + " (give it to start)");
    }
    return saslSsl("SCRAM-SHA-512", "scram.ScramLoginModule", user, password);
  }

  private Map<String, Object> saslSsl(
      String mechanism, String loginModule, String user, String password) {
    Map<String, Object> props = new LinkedHashMap<>();
    props.put("bootstrap.servers", bootstrapServers());
    props.put("security.protocol", "SASL_SSL");
    props.put("sasl.mechanism", mechanism);
    props.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security."
            + loginModule
            + " required username=\""
            + user
            + "\" password=\""
            + password
            + "\";");
    sslStrings().forEach(props::put);
    return props;
  }

  /** librdkafka ({@code kcat -X}) settings for {@code user}: PLAIN over TLS (see above). */
  public Map<String, String> kcatSettings(String user) {
    return Map.of(
        "security.protocol",
        "SASL_SSL",
        "sasl.mechanisms",
        "PLAIN",
        "sasl.username",
        user,
        "sasl.password",
        passwords.get(user),
        "ssl.ca.location",
        caPem.toString(),
        "ssl.endpoint.identification.algorithm",
        "none");
  }

  /** The trust store settings as strings (passwords unwrapped), for the app's kafka.client.*. */
  public Map<String, String> sslStrings() {
    Map<String, String> out = new LinkedHashMap<>();
    ssl.forEach(
        (k, v) -> {
          if (k.startsWith("ssl.trust") || k.equals("ssl.endpoint.identification.algorithm")) {
            out.put(k, v instanceof Password p ? p.value() : String.valueOf(v));
          }
        });
    return out;
  }

  private Map<String, Object> plainAdminProps() {
    return saslSsl("PLAIN", "plain.PlainLoginModule", ADMIN, ADMIN_PASSWORD);
  }

  /** The super user's client settings (PLAIN), e.g. for the CLI's acls --apply. */
  public Map<String, Object> adminProps() {
    return plainAdminProps();
  }

  private static void writeCaPem(Map<String, Object> ssl, Path pem) throws Exception {
    String location = String.valueOf(ssl.get("ssl.truststore.location"));
    Object pw = ssl.get("ssl.truststore.password");
    char[] password =
        pw == null ? null : (pw instanceof Password p ? p.value() : pw.toString()).toCharArray();
    String type = String.valueOf(ssl.getOrDefault("ssl.truststore.type", "JKS"));
    KeyStore store = KeyStore.getInstance(type);
    try (InputStream in = Files.newInputStream(Path.of(location))) {
      store.load(in, password);
    }
    StringBuilder sb = new StringBuilder();
    for (String alias : java.util.Collections.list(store.aliases())) {
      Certificate cert = store.getCertificate(alias);
      if (cert != null) {
        sb.append("-----BEGIN CERTIFICATE-----\n")
            .append(Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(cert.getEncoded()))
            .append("\n-----END CERTIFICATE-----\n");
      }
    }
    Files.writeString(pem, sb.toString());
  }

  @Override
  public void close() {
    try {
      admin.close();
    } finally {
      try {
        testKit.close();
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        throw new IllegalStateException("could not close the secured cluster", e);
      }
    }
  }
}
