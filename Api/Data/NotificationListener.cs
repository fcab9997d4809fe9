using Npgsql;

namespace AccountsApi.Data;

/// <summary>
/// LISTEN on one PostgreSQL channel on a dedicated connection, for as long as the app runs; after a
/// lost connection it reconnects and calls `onConnected` again so the caller can catch up.
/// </summary>
public static class NotificationListener
{
    public static async Task ListenAsync(
        string connectionString, string channel, Action<string> onNotification, Func<CancellationToken, Task> onConnected,
        ILogger logger, CancellationToken ct, TimeSpan? idleTick = null, Action? onIdle = null)
    {
        var listening = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, KeepAlive = 30 }.ConnectionString;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(listening);
                await connection.OpenAsync(ct);
                connection.Notification += (_, e) => onNotification(e.Payload);
                await using (var listen = new NpgsqlCommand($"listen {channel}", connection)) await listen.ExecuteNonQueryAsync(ct);
                await onConnected(ct);
                while (!ct.IsCancellationRequested)
                {
                    if (idleTick is { } tick) await connection.WaitAsync(tick, ct);
                    else await connection.WaitAsync(ct);
                    onIdle?.Invoke();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
            catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or IOException or TimeoutException)
            {
                logger.LogWarning("Listening on {Channel} failed ({Error}); reconnecting", channel, e.Message);
                try { await Task.Delay(TimeSpan.FromSeconds(2), ct); } catch (OperationCanceledException) { }
            }
        }
    }
}
