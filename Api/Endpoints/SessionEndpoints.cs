using System.Security.Claims;
using AccountsApi.Contracts;
using AccountsApi.Data;
using AccountsApi.Infrastructure;
using AccountsApi.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AccountsApi.Endpoints;

public static class SessionEndpoints
{
    public static IEndpointRouteBuilder MapSessionEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/accounts/me/sessions").WithTags("Sessions").RequireAuthorization().WithStandardProblems();
        group.MapGet("", ListSessions).WithName(nameof(ListSessions))
            .WithSummary("The account's active sessions (device, IP, created, last seen); `current` marks this one.");
        group.MapDelete("/{id:guid}", RevokeSession).WithName(nameof(RevokeSession)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("End one session: its access token stops working at once.");
        return routes;
    }

    public static async Task<Ok<SessionListResponse>> ListSessions(ClaimsPrincipal principal, SessionRepository sessions)
    {
        var current = principal.SessionId();
        var rows = await sessions.ListActiveAsync(principal.UserId());
        return TypedResults.Ok(new SessionListResponse(rows
            .Select(s => new SessionItem(s.Id, s.UserAgent, s.IpAddress, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.Id == current))
            .ToList()));
    }

    public static async Task<Results<Ok<MessageResponse>, ProblemHttpResult>> RevokeSession(
        Guid id, ClaimsPrincipal principal, HttpContext http, SessionRepository sessions, AccountLogRepository logs)
    {
        var revoked = await sessions.RevokeAsync(principal.UserId(), id, "revoked_by_user");
        if (revoked.Count == 0)
            return Problems.Problem(StatusCodes.Status404NotFound, ErrorCodes.NotFound, "No active session of yours has this id.");
        var client = ClientInfo.From(http);
        await logs.WriteAsync(new AccountLogEntry(principal.UserId(), "session_revoked", client.IpAddress, client.UserAgent,
            Field: "session", NewValue: id.ToString()));
        return TypedResults.Ok(new MessageResponse("The session has been ended."));
    }
}
