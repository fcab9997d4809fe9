namespace AccountsApi.Infrastructure;

/// <summary>Who is calling, for sessions and the audit log. The IP is the forwarded-headers result (trusted proxies only).</summary>
public sealed record ClientInfo(string? IpAddress, string? UserAgent)
{
    const int MaxUserAgent = 512;

    public static ClientInfo From(HttpContext http)
    {
        var agent = http.Request.Headers.UserAgent.ToString();
        return new ClientInfo(
            http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            agent.Length == 0 ? null : agent.Length > MaxUserAgent ? agent[..MaxUserAgent] : agent);
    }
}
