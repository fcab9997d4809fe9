using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AccountsApi.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AccountsApi.Tests.Auth;

/// <summary>What the access token carries, and that nothing but a genuine, live one opens the API.</summary>
public sealed class TokenTests(ApiFixture fixture) : ApiTest(fixture)
{
    /// <summary>
    /// Refused on GET /accounts/me and, unless the check needs the database (whose session is it?),
    /// on GET /auth/session too, which answers from the token and the revocation list alone.
    /// </summary>
    async Task AssertRefusedAsync(string token, bool alsoBySession = true)
    {
        var me = await Users.WithAccessToken(Factory, token).GetAsync("/accounts/me");
        await Http.AssertProblemAsync(me, HttpStatusCode.Unauthorized, "unauthorized");
        if (!alsoBySession) return;
        var session = await Users.WithAccessToken(Factory, token).GetAsync("/auth/session");
        await Http.AssertProblemAsync(session, HttpStatusCode.Unauthorized, "unauthorized");
    }

    /// <summary>Signs by hand, so the key-size checks of the token library do not get in the way.</summary>
    static string SignByHand(string alg, IDictionary<string, object> claims, string key = ApiFactory.SigningKey)
    {
        var header = Tokens.Base64Url($"{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}");
        var payload = Tokens.Base64Url(System.Text.Json.JsonSerializer.Serialize(claims));
        using System.Security.Cryptography.HMAC hmac = alg switch
        {
            "HS256" => new System.Security.Cryptography.HMACSHA256(Encoding.UTF8.GetBytes(key)),
            "HS384" => new System.Security.Cryptography.HMACSHA384(Encoding.UTF8.GetBytes(key)),
            _ => new System.Security.Cryptography.HMACSHA512(Encoding.UTF8.GetBytes(key)),
        };
        var signature = Base64UrlEncoder.Encode(hmac.ComputeHash(Encoding.ASCII.GetBytes($"{header}.{payload}")));
        return $"{header}.{payload}.{signature}";
    }

    static string ReplacePayload(string jwt, Action<JsonObject> change)
    {
        var parts = jwt.Split('.');
        var payload = JsonNode.Parse(Tokens.DecodeSegment(parts[1]))!.AsObject();
        change(payload);
        return $"{parts[0]}.{Tokens.Base64Url(payload.ToJsonString())}.{parts[2]}";
    }

    [Fact]
    public async Task TheAccessTokenCarriesTheContractClaimsAndIsSignedWithHs256()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(alice.AccessToken, new TokenValidationParameters
        {
            ValidIssuer = "accounts-api",
            ValidAudience = "accounts-api",
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(ApiFactory.SigningKey)),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ClockSkew = TimeSpan.Zero,
        });
        Assert.True(result.IsValid, result.Exception?.Message);

        var token = Tokens.Read(alice.AccessToken);
        Assert.Equal("HS256", token.Alg);
        Assert.Equal(alice.UserId.ToString(), token.GetClaim("sub").Value);
        Assert.True(Guid.TryParse(token.GetClaim("sid").Value, out _));
        Assert.Equal("alice", token.GetClaim("name").Value);
        Assert.Equal("user", token.GetClaim("role").Value);
        Assert.Equal("accounts-api", token.Issuer);
        Assert.Equal(["accounts-api"], token.Audiences);
        Assert.False(string.IsNullOrEmpty(token.Id)); // jti
        Assert.InRange((token.IssuedAt - DateTime.UtcNow).TotalMinutes, -2, 1);
        Assert.InRange((token.ValidTo - DateTime.UtcNow).TotalMinutes, 14, 16); // ACCESS_TOKEN_MINUTES default 15
        var payload = Tokens.DecodeSegment(alice.AccessToken.Split('.')[1]);
        Assert.DoesNotContain("password", payload, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("alice@example.com", payload);
    }

    [Fact]
    public async Task TheAccessTokenLifetimeIsConfigurable()
    {
        await using var factory = Factory.WithSettings(new Dictionary<string, string?> { ["ACCESS_TOKEN_MINUTES"] = "1" });
        var alice = await Users.SignUpAndInAsync(factory);
        Assert.InRange((Tokens.Read(alice.AccessToken).ValidTo - DateTime.UtcNow).TotalSeconds, 30, 61);
    }

    [Fact]
    public async Task AnAdminsTokenCarriesTheAdminRole()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        await using (var db = await Db.OpenAsync(Fixture))
            await Dapper.SqlMapper.ExecuteAsync(db, "update users set role = 'admin'");
        var alice = await Users.SignInAsync(Factory, "alice");
        Assert.Equal("admin", Tokens.Read(alice.AccessToken).GetClaim("role").Value);
        var session = await Http.JsonAsync(await alice.Client.GetAsync("/auth/session"), HttpStatusCode.OK);
        Assert.Equal("admin", session.GetProperty("role").GetString());
    }

    [Fact]
    public async Task ATokenSignedWithTheRightKeyAndClaimsIsAccepted()
    {
        // the control for the forgeries below: a token built by the test itself opens the API when it is right
        var alice = await Users.SignUpAndInAsync(Factory);
        var token = Tokens.Sign(Tokens.Claims(alice.UserId, alice.SessionId, "alice"));
        var me = await Http.JsonAsync(await Users.WithAccessToken(Factory, token).GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.Equal("alice", me.GetProperty("username").GetString());
    }

    [Fact]
    public async Task AnUnsignedAlgNoneTokenIsRefused()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var header = Tokens.Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
        var payload = alice.AccessToken.Split('.')[1];
        await AssertRefusedAsync($"{header}.{payload}.");
        await AssertRefusedAsync($"{header}.{payload}");
        var noneHeaderKeptSignature = $"{header}.{payload}.{alice.AccessToken.Split('.')[2]}";
        await AssertRefusedAsync(noneHeaderKeptSignature);
    }

    [Fact]
    public async Task ATokenSignedWithAnotherKeyIsRefused()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        await AssertRefusedAsync(Tokens.Sign(Tokens.Claims(alice.UserId, alice.SessionId, "alice"), key: "another-signing-key-of-the-same-length-9876543210"));
    }

    [Fact]
    public async Task ATokenSignedWithTheRightKeyButAnotherHmacThanHs256IsRefused()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        // control: the hand-made HS256 token is accepted
        await Http.JsonAsync(await Users.WithAccessToken(Factory, SignByHand("HS256", Tokens.Claims(alice.UserId, alice.SessionId, "alice")))
            .GetAsync("/accounts/me"), HttpStatusCode.OK);
        await AssertRefusedAsync(SignByHand("HS384", Tokens.Claims(alice.UserId, alice.SessionId, "alice")));
        await AssertRefusedAsync(SignByHand("HS512", Tokens.Claims(alice.UserId, alice.SessionId, "alice")));
    }

    [Fact]
    public async Task AnExpiredTokenIsRefused()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        await AssertRefusedAsync(Tokens.Sign(Tokens.Claims(alice.UserId, alice.SessionId, "alice", expires: DateTimeOffset.UtcNow.AddMinutes(-5))));
    }

    [Fact]
    public async Task ATokenWithTheWrongIssuerOrAudienceIsRefused()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var wrongIssuer = Tokens.Claims(alice.UserId, alice.SessionId, "alice");
        wrongIssuer["iss"] = "someone-else";
        await AssertRefusedAsync(Tokens.Sign(wrongIssuer));
        var wrongAudience = Tokens.Claims(alice.UserId, alice.SessionId, "alice");
        wrongAudience["aud"] = "another-api";
        await AssertRefusedAsync(Tokens.Sign(wrongAudience));
    }

    [Fact]
    public async Task ATamperedPayloadIsRefused()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        await AssertRefusedAsync(ReplacePayload(alice.AccessToken, p => p["role"] = "admin"));
        await AssertRefusedAsync(ReplacePayload(alice.AccessToken, p => p["exp"] = DateTimeOffset.UtcNow.AddDays(30).ToUnixTimeSeconds()));
        await AssertRefusedAsync(ReplacePayload(alice.AccessToken, p => p["name"] = "mallory"));
        // the untouched token still works
        await Http.JsonAsync(await Users.WithAccessToken(Factory, alice.AccessToken).GetAsync("/accounts/me"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task AValidTokenOfARevokedSessionIsRefused()
    {
        var laptop = await Users.SignUpAndInAsync(Factory);
        var phone = await Users.SignInAsync(Factory, "alice");
        var revoke = await phone.Client.DeleteAsync($"/accounts/me/sessions/{laptop.SessionId}");
        await Http.JsonAsync(revoke, HttpStatusCode.OK);

        await AssertRefusedAsync(laptop.AccessToken);
        // even re-signed with fresh times by someone holding the key, the session is dead
        await AssertRefusedAsync(Tokens.Sign(Tokens.Claims(laptop.UserId, laptop.SessionId, "alice")));
        await Http.JsonAsync(await Users.WithAccessToken(Factory, phone.AccessToken).GetAsync("/accounts/me"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task ATokenWhoseSessionBelongsToAnotherUserIsRefused()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var bob = await Users.SignUpAndInAsync(Factory, "bob");
        await AssertRefusedAsync(Tokens.Sign(Tokens.Claims(alice.UserId, bob.SessionId, "alice")), alsoBySession: false);
        await AssertRefusedAsync(Tokens.Sign(Tokens.Claims(bob.UserId, alice.SessionId, "bob")), alsoBySession: false);
    }

    [Fact]
    public async Task ATokenForAnUnknownSessionOrUserIsRefused()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        await AssertRefusedAsync(Tokens.Sign(Tokens.Claims(alice.UserId, Guid.NewGuid().ToString(), "alice")), alsoBySession: false);
        await AssertRefusedAsync(Tokens.Sign(Tokens.Claims(alice.UserId + 1000, alice.SessionId, "ghost")), alsoBySession: false);
        var notAGuid = Tokens.Claims(alice.UserId, alice.SessionId, "alice");
        notAGuid["sid"] = "not-a-session";
        await AssertRefusedAsync(Tokens.Sign(notAGuid), alsoBySession: false);
    }

    [Fact]
    public async Task TokenBodiesNeverReachTheResponse()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        foreach (var path in new[] { "/accounts/me", "/auth/session", "/accounts/me/sessions" })
        {
            var text = await (await alice.Client.GetAsync(path)).Content.ReadAsStringAsync();
            Assert.DoesNotContain(alice.AccessToken, text);
            Assert.DoesNotContain(alice.RefreshToken, text);
        }
        var refresh = await alice.Client.PostAsync("/auth/refresh", null);
        var refreshed = await refresh.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
        Assert.DoesNotContain(Cookies.Get(refresh, "access_token")!, refreshed);
        Assert.DoesNotContain(Cookies.Get(refresh, "refresh_token")!, refreshed);
        Assert.DoesNotContain(alice.RefreshToken, refreshed);
    }
}
