using Osvi.Bridge.Adapters.Slack;
using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace Osvi.Bridge.Tests;

/// <summary>
/// The deploy/ files parsed with a real YAML parser and held to what ops rely on: probes on the
/// documented paths, a grace period above the shutdown timeout, persistence for Redis, and an env
/// example that names every setting.
/// </summary>
public sealed class DeployManifestTests
{
    private static readonly string Root = FindRepositoryRoot();

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Osvi.Bridge.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Repository root (Osvi.Bridge.sln) not found above " + AppContext.BaseDirectory);
    }

    private static List<YamlMappingNode> Documents(string relativePath)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Root, relativePath));
        stream.Load(reader);
        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (var step in path)
        {
            node = int.TryParse(step, out var index)
                ? ((YamlSequenceNode)node).Children[index]
                : ((YamlMappingNode)node).Children[new YamlScalarNode(step)];
        }
        return node;
    }

    private static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value!;

    public static TheoryData<string> KubernetesFiles() =>
        new(Directory.GetFiles(Path.Combine(FindRepositoryRoot(), "deploy", "kubernetes"), "*.yaml")
            .Select(f => Path.GetRelativePath(FindRepositoryRoot(), f)));

    [Theory]
    [MemberData(nameof(KubernetesFiles))]
    public void Every_kubernetes_document_has_api_version_kind_and_name(string file)
    {
        var documents = Documents(file);
        Assert.NotEmpty(documents);
        foreach (var document in documents)
        {
            Assert.False(string.IsNullOrEmpty(Scalar(document, "apiVersion")));
            Assert.False(string.IsNullOrEmpty(Scalar(document, "kind")));
            if (Scalar(document, "kind") != "Kustomization")
            {
                Assert.False(string.IsNullOrEmpty(Scalar(document, "metadata", "name")));
            }
        }
    }

    [Fact]
    public void Kustomization_lists_files_that_exist()
    {
        var kustomization = Documents("deploy/kubernetes/kustomization.yaml").Single();
        foreach (var resource in ((YamlSequenceNode)At(kustomization, "resources")).Children.Cast<YamlScalarNode>())
        {
            Assert.True(File.Exists(Path.Combine(Root, "deploy", "kubernetes", resource.Value!)), resource.Value);
        }
    }

    [Fact]
    public void Deployment_probes_health_endpoints_and_outwaits_the_shutdown_timeout()
    {
        var deployment = Documents("deploy/kubernetes/deployment.yaml").Single();
        var pod = At(deployment, "spec", "template", "spec");
        var container = At(pod, "containers", "0");

        Assert.Equal("/healthz", Scalar(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal("/readyz", Scalar(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("8080", Scalar(container, "ports", "0", "containerPort"));
        Assert.NotNull(At(container, "resources", "requests", "memory"));
        Assert.NotNull(At(container, "resources", "limits", "memory"));
        Assert.Equal("true", Scalar(pod, "securityContext", "runAsNonRoot"));

        var config = Documents("deploy/kubernetes/configmap.yaml").Single();
        var shutdown = TimeSpan.Parse(Scalar(config, "data", "Bridge__ShutdownTimeout"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(int.Parse(Scalar(pod, "terminationGracePeriodSeconds"), System.Globalization.CultureInfo.InvariantCulture) > shutdown.TotalSeconds);

        var secretNames = ((YamlMappingNode)At(Documents("deploy/kubernetes/secret.example.yaml").Single(), "stringData")).Children.Keys
            .Cast<YamlScalarNode>().Select(k => k.Value).ToList();
        Assert.Contains("Osvi__ApiToken", secretNames);
        Assert.DoesNotContain(((YamlMappingNode)At(config, "data")).Children.Keys.Cast<YamlScalarNode>(), k => secretNames.Contains(k.Value));
    }

    [Fact]
    public void The_image_is_a_pinned_registry_reference_and_the_requests_cover_the_measured_memory()
    {
        var container = At(Documents("deploy/kubernetes/deployment.yaml").Single(), "spec", "template", "spec", "containers", "0");
        var image = Scalar(container, "image");
        Assert.DoesNotContain(":latest", image, StringComparison.Ordinal);
        var set = ((YamlSequenceNode)At(Documents("deploy/kubernetes/kustomization.yaml").Single(), "images")).Children
            .Single(i => Scalar(i, "name") == image);
        Assert.Contains('/', Scalar(set, "newName"));
        Assert.Matches(@"^\d+\.\d+\.\d+", Scalar(set, "newTag"));

        // README "Performance": peak RSS up to ~150 MB.
        Assert.True(Mebibytes(Scalar(container, "resources", "requests", "memory")) >= 160);
        Assert.True(Mebibytes(Scalar(container, "resources", "limits", "memory")) >= 2 * 150);
        var connection = ((YamlSequenceNode)At(container, "env")).Children.Single(e => Scalar(e, "name") == "Redis__ConnectionString");
        Assert.Contains("password=$(REDIS_PASSWORD)", Scalar(connection, "value"), StringComparison.Ordinal);
    }

    private static int Mebibytes(string quantity) =>
        quantity.EndsWith("Gi", StringComparison.Ordinal) ? 1024 * int.Parse(quantity[..^2], System.Globalization.CultureInfo.InvariantCulture)
        : int.Parse(quantity.TrimEnd('M', 'i'), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Redis_has_a_password_from_the_secret_never_evicts_runs_unprivileged_and_takes_only_the_bridge()
    {
        var redis = Documents("deploy/kubernetes/redis.yaml").Single(d => Scalar(d, "kind") == "StatefulSet");
        var pod = At(redis, "spec", "template", "spec");
        var container = At(pod, "containers", "0");
        Assert.Matches(@"^redis:\d+\.\d+\.\d+", Scalar(container, "image"));
        var args = ((YamlSequenceNode)At(container, "args")).Children.Cast<YamlScalarNode>().Select(a => a.Value).ToList();
        Assert.Equal("$(REDIS_PASSWORD)", args[args.IndexOf("--requirepass") + 1]);
        Assert.Equal("noeviction", args[args.IndexOf("--maxmemory-policy") + 1]);
        Assert.True(Mebibytes(args[args.IndexOf("--maxmemory") + 1]!.Replace("mb", "Mi", StringComparison.Ordinal))
            < Mebibytes(Scalar(container, "resources", "limits", "memory")));
        var password = ((YamlSequenceNode)At(container, "env")).Children.Single(e => Scalar(e, "name") == "REDIS_PASSWORD");
        Assert.Equal("osvi-bridge-secrets", Scalar(password, "valueFrom", "secretKeyRef", "name"));
        Assert.Contains("REDIS_PASSWORD", ((YamlMappingNode)At(Documents("deploy/kubernetes/secret.example.yaml").Single(), "stringData")).Children.Keys
            .Cast<YamlScalarNode>().Select(k => k.Value));
        Assert.Equal("true", Scalar(pod, "securityContext", "runAsNonRoot"));
        Assert.Equal("false", Scalar(container, "securityContext", "allowPrivilegeEscalation"));

        var policy = Documents("deploy/kubernetes/networkpolicy.yaml").Single(d => Scalar(d, "metadata", "name") == "osvi-bridge-redis");
        Assert.Equal("osvi-bridge-redis", Scalar(policy, "spec", "podSelector", "matchLabels", "app.kubernetes.io/name"));
        Assert.Equal("osvi-bridge", Scalar(policy, "spec", "ingress", "0", "from", "0", "podSelector", "matchLabels", "app.kubernetes.io/name"));
    }

    [Fact]
    public void Pod_disruption_budget_and_service_select_the_bridge_pods()
    {
        var labels = Scalar(Documents("deploy/kubernetes/deployment.yaml").Single(), "spec", "template", "metadata", "labels", "app.kubernetes.io/name");
        Assert.Equal(labels, Scalar(Documents("deploy/kubernetes/poddisruptionbudget.yaml").Single(), "spec", "selector", "matchLabels", "app.kubernetes.io/name"));
        Assert.Equal(labels, Scalar(Documents("deploy/kubernetes/service.yaml").Single(), "spec", "selector", "app.kubernetes.io/name"));
    }

    [Fact]
    public void Compose_starts_the_bridge_after_a_healthy_persistent_redis()
    {
        var compose = Documents("deploy/compose.yaml").Single();
        var redis = At(compose, "services", "redis");
        var bridge = At(compose, "services", "bridge");

        Assert.StartsWith("redis:7", Scalar(redis, "image"), StringComparison.Ordinal);
        var command = ((YamlSequenceNode)At(redis, "command")).Children.Cast<YamlScalarNode>().Select(c => c.Value).ToList();
        Assert.Equal("yes", command[command.IndexOf("--appendonly") + 1]);
        Assert.Equal("redis-data:/data", Scalar(redis, "volumes", "0"));
        Assert.Equal("service_healthy", Scalar(bridge, "depends_on", "redis", "condition"));
        Assert.Equal("bridge.env", Scalar(bridge, "env_file", "0"));
        Assert.Matches(@"^redis:\d+\.\d+\.\d+", Scalar(redis, "image"));
        Assert.Equal("noeviction", command[command.IndexOf("--maxmemory-policy") + 1]);
        // /metrics and the health endpoints stay on the host's loopback interface.
        Assert.All(((YamlSequenceNode)At(bridge, "ports")).Children.Cast<YamlScalarNode>(),
            p => Assert.StartsWith("127.0.0.1:", p.Value, StringComparison.Ordinal));
        Assert.False(((YamlMappingNode)redis).Children.ContainsKey(new YamlScalarNode("ports")));
    }

    [Fact]
    public void Env_example_names_every_setting_of_appsettings_and_holds_no_real_secret()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "deploy", "bridge.env.example"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1]);

        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "appsettings.json")));
        foreach (var section in settings.RootElement.EnumerateObject().Where(s => s.Name != "Logging"))
        {
            foreach (var key in section.Value.EnumerateObject())
            {
                Assert.True(lines.ContainsKey($"{section.Name}__{key.Name}"), $"{section.Name}__{key.Name} is missing from deploy/bridge.env.example");
            }
        }
        Assert.StartsWith("replace-with", lines["Osvi__ApiToken"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("deploy/slack-app-manifest.yaml", true)]
    [InlineData("deploy/slack-app-manifest.events-api.yaml", false)]
    public void Each_slack_app_manifest_has_every_scope_event_and_the_slash_command_its_mode_needs(string file, bool socketMode)
    {
        var manifest = Assert.Single(Documents(file));
        var scopes = ((YamlSequenceNode)At(manifest, "oauth_config", "scopes", "bot")).Children.Select(c => ((YamlScalarNode)c).Value).ToList();
        Assert.Subset(scopes.ToHashSet(), new HashSet<string?>
        {
            "app_mentions:read", "chat:write", "im:history", "users:read", "commands", "channels:history", "groups:history",
        });
        var events = ((YamlSequenceNode)At(manifest, "settings", "event_subscriptions", "bot_events")).Children.Select(c => ((YamlScalarNode)c).Value);
        Assert.Equal(["app_mention", "message.im", "message.channels", "message.groups"], events);
        Assert.Equal(new SlackOptions().SlashCommand, Scalar(manifest, "features", "slash_commands", "0", "command"));
        Assert.Equal(socketMode ? "true" : "false", Scalar(manifest, "settings", "socket_mode_enabled"));
        Assert.Equal("true", Scalar(manifest, "features", "app_home", "messages_tab_enabled"));
        if (!socketMode)
        {
            Assert.EndsWith(SlackEventsEndpoint.Path, Scalar(manifest, "settings", "event_subscriptions", "request_url"), StringComparison.Ordinal);
            Assert.EndsWith(SlackCommandsEndpoint.Path, Scalar(manifest, "features", "slash_commands", "0", "url"), StringComparison.Ordinal);
        }
    }
}
