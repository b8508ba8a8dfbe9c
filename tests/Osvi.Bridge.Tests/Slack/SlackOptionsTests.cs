using System.ComponentModel.DataAnnotations;
using Osvi.Bridge.Adapters.Slack;

namespace Osvi.Bridge.Tests.Slack;

public sealed class SlackOptionsTests
{
    private static List<string> Errors(SlackOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results.Select(r => r.ErrorMessage ?? "").ToList();
    }

    [Fact]
    public void App_token_means_socket_mode_and_wins_over_the_signing_secret()
    {
        var options = new SlackOptions { BotToken = "xoxb-1", AppToken = "xapp-1", SigningSecret = "s" };
        Assert.Equal(SlackReceiveMode.SocketMode, options.Mode);
        Assert.Empty(Errors(options));
    }

    [Fact]
    public void Signing_secret_alone_means_events_api()
    {
        var options = new SlackOptions { BotToken = "xoxb-1", SigningSecret = "s" };
        Assert.Equal(SlackReceiveMode.EventsApi, options.Mode);
        Assert.Empty(Errors(options));
    }

    [Fact]
    public void Bot_token_without_a_way_in_is_a_clear_error()
    {
        var errors = Errors(new SlackOptions { BotToken = "xoxb-1" });
        var error = Assert.Single(errors);
        Assert.Contains("Slack:AppToken", error, StringComparison.Ordinal);
        Assert.Contains("Slack:SigningSecret", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_kinds_are_checked()
    {
        var errors = Errors(new SlackOptions { BotToken = "xoxp-user", AppToken = "xoxb-wrong" });
        Assert.Contains(errors, e => e.StartsWith("Slack:BotToken", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Slack:AppToken", StringComparison.Ordinal));
    }

    [Fact]
    public void A_token_of_an_unfamiliar_shape_is_left_for_auth_test_to_judge()
    {
        Assert.Empty(Errors(new SlackOptions { BotToken = "test-bot-token", AppToken = "test-app-token" }));
    }

    [Fact]
    public void Nothing_is_checked_when_the_channel_is_off()
    {
        Assert.Empty(Errors(new SlackOptions()));
    }

    [Fact]
    public void New_settings_have_their_documented_defaults_and_ranges_naming_their_keys()
    {
        var defaults = new SlackOptions();
        Assert.Equal(TimeSpan.FromSeconds(0.5), defaults.ProgressDelay);
        Assert.Equal(2, defaults.SocketConnections);
        Assert.Equal(TimeSpan.FromSeconds(1), defaults.UserLookupTimeout);

        var errors = Errors(new SlackOptions
        {
            BotToken = "xoxb-1",
            AppToken = "xapp-1",
            ProgressDelay = TimeSpan.FromMinutes(2),
            SocketConnections = 11,
            UserLookupTimeout = TimeSpan.Zero,
            RetryDelay = TimeSpan.FromMinutes(2),
        });
        Assert.Contains(errors, e => e.StartsWith("Slack:ProgressDelay", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Slack:SocketConnections", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Slack:UserLookupTimeout", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Slack:RetryDelay", StringComparison.Ordinal));
    }
}
