package dev.llmstreams.app;

import dev.llmstreams.app.AclPlan.Role;
import dev.llmstreams.config.AppConfig;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "acls",
    mixinStandardHelpOptions = true,
    description = {
      "Print the least-privilege Kafka ACLs of this deployment, one principal per role, or create"
          + " them with --apply.",
      "Derived from each configured pattern's topology, the topic catalog (topics.prefix, tools,"
          + " MCP servers) and application.id. Roles: app (runs the patterns), producer, consumer,"
          + " approver, labeller, trainer, worker (tools no pattern serves), operator (topics apply)."
    })
final class AclsCommand implements Callable<Integer> {
  @ParentCommand Main main;

  @Option(
      names = "--principal",
      paramLabel = "ROLE=PRINCIPAL",
      description =
          "The principal of a role, e.g. --principal app=User:llm-streams --principal"
              + " approver=User:alice (default User:<application.id> for app,"
              + " User:<application.id>-<role> for the others).")
  Map<String, String> principals = new java.util.LinkedHashMap<>();

  @Option(
      names = "--role",
      paramLabel = "ROLE",
      split = ",",
      description = "Only these roles (default: all).")
  List<String> roles = new ArrayList<>();

  @Option(
      names = "--format",
      paramLabel = "FORMAT",
      description =
          "commands (kafka-acls.sh lines, the default) or table (Markdown). Ignored with --apply.")
  String format = "commands";

  @Option(
      names = "--apply",
      description =
          "Create the ACLs through the Admin API (needs a principal allowed to alter the cluster's"
              + " ACLs, given with kafka.client.*); existing ones are left as they are.")
  boolean apply;

  @Override
  public Integer call() throws Exception {
    AppConfig config = main.config();
    Map<Role, String> who = new EnumMap<>(AclPlan.defaultPrincipals(config));
    principals.forEach(
        (role, principal) -> {
          if (!principal.contains(":")) {
            throw new Main.UserError(
                "--principal "
                    + role
                    + "="
                    + principal
                    + ": a principal is TYPE:NAME, e.g. User:alice");
          }
          who.put(parseRole(role), principal);
        });
    Set<Role> selected = EnumSet.noneOf(Role.class);
    roles.forEach(r -> selected.add(parseRole(r)));
    if (selected.isEmpty()) {
      selected.addAll(EnumSet.allOf(Role.class));
    }
    AclPlan plan = AclPlan.of(main.catalog(), config, who);
    List<AclBinding> bindings = plan.bindings(selected);
    if (!apply) {
      System.out.print(
          switch (format) {
            case "commands" -> plan.commands(selected, config.bootstrapServers());
            case "table" -> plan.table(selected);
            default -> throw new Main.UserError("--format is commands or table, not " + format);
          });
      return 0;
    }
    try (Admin admin = Clients.admin(config)) {
      Set<AclBinding> existing;
      try {
        existing = Set.copyOf(admin.describeAcls(AclBindingFilter.ANY).values().get());
      } catch (ExecutionException e) {
        throw new Main.UserError(
            "cannot read the ACLs of "
                + config.bootstrapServers()
                + ": "
                + e.getCause().getMessage()
                + " (is an authorizer configured, and may this principal describe the cluster?)");
      }
      List<AclBinding> missing = bindings.stream().filter(b -> !existing.contains(b)).toList();
      try {
        admin.createAcls(missing).all().get();
      } catch (ExecutionException e) {
        throw new Main.UserError(
            "cannot create ACLs on "
                + config.bootstrapServers()
                + ": "
                + e.getCause().getMessage());
      }
      System.out.printf(
          "%d ACLs for %d roles on %s: %d created, %d already there%n",
          bindings.size(),
          selected.size(),
          config.bootstrapServers(),
          missing.size(),
          bindings.size() - missing.size());
    }
    return 0;
  }

  private static Role parseRole(String id) {
    try {
      return Role.parse(id);
    } catch (IllegalArgumentException e) {
      throw new Main.UserError(e.getMessage());
    }
  }
}
