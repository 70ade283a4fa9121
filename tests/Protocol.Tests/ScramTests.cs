using System.Text;
using Sluice.Protocol.Authentication;

namespace Sluice.Protocol.Tests;

public class ScramTests
{
    // RFC 7677 section 3.
    private const string RfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
    private const string RfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private const string RfcSalt = "W22ZaJ0SNY7soEsUEjb6gQ==";
    private const string RfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    private const string RfcServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private const string RfcClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private const string RfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    // StoredKey and ServerKey of "pencil" with the RFC salt, computed independently (Python hashlib).
    private const string RfcVerifier = "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

    private static readonly ScramVerifier s_pencil = ScramVerifier.Create("pencil", 4096, Convert.FromBase64String(RfcSalt));

    [Fact]
    public void Verifier_matches_the_rfc_test_vector()
    {
        Assert.Equal(RfcVerifier, s_pencil.ToString());
    }

    [Fact]
    public void Verifier_round_trips_through_its_text_form()
    {
        var verifier = ScramVerifier.Create("correct horse", 10_000);

        Assert.True(ScramVerifier.TryParse(verifier.ToString(), out var parsed));
        Assert.Equal(verifier.ToString(), parsed!.ToString());
        Assert.Equal(10_000, parsed.Iterations);
        Assert.Equal(16, parsed.Salt.Length);
        Assert.Equal(verifier.StoredKey, parsed.StoredKey);
        Assert.Equal(verifier.ServerKey, parsed.ServerKey);
    }

    [Fact]
    public void Verifiers_of_the_same_password_differ_by_salt()
    {
        Assert.NotEqual(ScramVerifier.Create("pw").ToString(), ScramVerifier.Create("pw").ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("md53175bce1d3201d16594cebf9d7eb3f9d")]
    [InlineData("SCRAM-SHA-256$")]
    [InlineData("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==")]
    [InlineData("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=")]
    [InlineData("SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")]
    [InlineData("SCRAM-SHA-256$-1:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")]
    [InlineData("SCRAM-SHA-256$x:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")]
    [InlineData("SCRAM-SHA-256$4096:$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")]
    [InlineData("SCRAM-SHA-256$4096:not*base64$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")]
    [InlineData("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$c2hvcnQ=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")]
    [InlineData("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:c2hvcnQ=")]
    public void Verifier_parse_rejects_malformed_text(string text)
    {
        Assert.False(ScramVerifier.TryParse(text, out var verifier));
        Assert.Null(verifier);
    }

    [Fact]
    public void Server_reproduces_the_rfc_test_vector()
    {
        var server = new ScramServerExchange(s_pencil, channelBinding: null, RfcServerNonce);

        Assert.True(server.TryHandleClientFirst(ScramServerExchange.Mechanism, Utf8(RfcClientFirst), out var serverFirst, out var error), error);
        Assert.Equal(RfcServerFirst, Encoding.UTF8.GetString(serverFirst));
        Assert.True(server.TryHandleClientFinal(Utf8(RfcClientFinal), out var serverFinal, out error), error);
        Assert.Equal(RfcServerFinal, Encoding.UTF8.GetString(serverFinal));
        Assert.True(server.IsAuthenticated);
        Assert.Equal(ScramFailure.None, server.Failure);
    }

    [Fact]
    public void Client_reproduces_the_rfc_test_vector()
    {
        var client = new ScramClientExchange("pencil", RfcClientNonce, "user");

        Assert.Equal(RfcClientFirst, Encoding.UTF8.GetString(client.CreateClientFirst()));
        Assert.True(client.TryHandleServerFirst(Utf8(RfcServerFirst), out var clientFinal, out var error), error);
        Assert.Equal(RfcClientFinal, Encoding.UTF8.GetString(clientFinal));
        Assert.True(client.VerifyServerFinal(Utf8(RfcServerFinal)));
    }

    [Fact]
    public void Client_and_server_agree_on_the_right_password()
    {
        var server = new ScramServerExchange(ScramVerifier.Create("s3cret ü"));
        var client = new ScramClientExchange("s3cret ü");

        Assert.True(Run(client, server, out var error), error);
        Assert.True(server.IsAuthenticated);
        Assert.NotNull(server.ClientKey);
    }

    [Fact]
    public void Client_first_message_has_no_user_name_and_a_fresh_nonce()
    {
        var first = Encoding.UTF8.GetString(new ScramClientExchange("pw").CreateClientFirst());
        var other = Encoding.UTF8.GetString(new ScramClientExchange("pw").CreateClientFirst());

        Assert.StartsWith("n,,n=,r=", first);
        Assert.Equal(8 + 24, first.Length);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Server_refuses_the_wrong_password()
    {
        var server = new ScramServerExchange(ScramVerifier.Create("right"));
        var client = new ScramClientExchange("wrong");

        Assert.True(server.TryHandleClientFirst(ScramServerExchange.Mechanism, client.CreateClientFirst(), out var serverFirst, out _));
        Assert.True(client.TryHandleServerFirst(serverFirst, out var clientFinal, out _));
        Assert.False(server.TryHandleClientFinal(clientFinal, out var serverFinal, out var error));

        Assert.Empty(serverFinal);
        Assert.Equal(ScramFailure.InvalidProof, server.Failure);
        Assert.Contains("password authentication failed", error);
        Assert.False(server.IsAuthenticated);
        Assert.Null(server.ClientKey);
    }

    [Fact]
    public void Client_refuses_a_server_that_does_not_know_the_password()
    {
        var client = new ScramClientExchange("pencil", RfcClientNonce, "user");
        client.CreateClientFirst();
        client.TryHandleServerFirst(Utf8(RfcServerFirst), out _, out _);

        Assert.False(client.VerifyServerFinal(Utf8("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")));
    }

    [Theory]
    [InlineData("e=invalid-proof")]
    [InlineData("v=")]
    [InlineData("v=not base64!")]
    [InlineData("")]
    public void Client_refuses_malformed_server_final(string serverFinal)
    {
        var client = new ScramClientExchange("pencil", RfcClientNonce, "user");
        client.CreateClientFirst();
        client.TryHandleServerFirst(Utf8(RfcServerFirst), out _, out _);

        Assert.False(client.VerifyServerFinal(Utf8(serverFinal)));
    }

    [Fact]
    public void Client_refuses_server_final_before_server_first()
    {
        var client = new ScramClientExchange("pencil", RfcClientNonce, "user");
        client.CreateClientFirst();

        Assert.False(client.VerifyServerFinal(Utf8(RfcServerFinal)));
    }

    [Theory]
    [InlineData("r=someoneelse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,s=,i=4096", "salt")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", "iteration")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-5", "iteration")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==", "expected nonce, salt and iteration count")]
    [InlineData("s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOabc,i=4096", "expected nonce, salt and iteration count")]
    [InlineData("m=ext,r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "unsupported SCRAM extension")]
    public void Client_refuses_a_bad_server_first(string serverFirst, string expected)
    {
        var client = new ScramClientExchange("pencil", RfcClientNonce, "user");
        client.CreateClientFirst();

        Assert.False(client.TryHandleServerFirst(Utf8(serverFirst), out var clientFinal, out var error));
        Assert.Empty(clientFinal);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Client_logs_in_with_the_client_key_a_client_revealed()
    {
        var verifier = ScramVerifier.Create("pw");
        var front = new ScramServerExchange(verifier);
        Assert.True(Run(new ScramClientExchange("pw"), front, out _));

        // The same verifier on the "PostgreSQL" side: the proxy logs in without the password.
        var back = new ScramServerExchange(verifier);
        Assert.True(Run(new ScramClientExchange(verifier, front.ClientKey!), back, out var error), error);
    }

    [Fact]
    public void Client_key_login_fails_cleanly_when_the_server_salt_differs()
    {
        var verifier = ScramVerifier.Create("pw");
        var front = new ScramServerExchange(verifier);
        Assert.True(Run(new ScramClientExchange("pw"), front, out _));

        var back = new ScramServerExchange(ScramVerifier.Create("pw"));
        Assert.False(Run(new ScramClientExchange(verifier, front.ClientKey!), back, out var error));
        Assert.Contains("salt or iteration count differs", error);
    }

    [Fact]
    public void Client_key_must_belong_to_the_verifier()
    {
        Assert.Throws<ArgumentException>(() => new ScramClientExchange(ScramVerifier.Create("pw"), new byte[32]));
    }

    [Fact]
    public void Offers_plus_first_only_with_channel_binding_data()
    {
        Assert.Equal(["SCRAM-SHA-256"], new ScramServerExchange(s_pencil).Mechanisms);
        Assert.Equal(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], new ScramServerExchange(s_pencil, new byte[32]).Mechanisms);
    }

    [Fact]
    public void Accepts_scram_plus_with_the_right_channel_binding()
    {
        var binding = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var server = new ScramServerExchange(s_pencil, binding, RfcServerNonce);

        var ok = RunManual(server, ScramServerExchange.MechanismPlus, "p=tls-server-end-point,,", binding, "pencil", out var serverFinal, out var error);

        Assert.True(ok, error);
        Assert.StartsWith("v=", Encoding.UTF8.GetString(serverFinal));
    }

    [Fact]
    public void Refuses_scram_plus_with_another_channel_binding()
    {
        var server = new ScramServerExchange(s_pencil, new byte[32], RfcServerNonce);

        var ok = RunManual(server, ScramServerExchange.MechanismPlus, "p=tls-server-end-point,,", new byte[] { 1 }, "pencil", out _, out var error);

        Assert.False(ok);
        Assert.Equal(ScramFailure.ProtocolViolation, server.Failure);
        Assert.Contains("channel binding check failed", error);
    }

    [Fact]
    public void Accepts_a_client_that_could_bind_when_no_binding_was_offered()
    {
        var server = new ScramServerExchange(s_pencil, null, RfcServerNonce);

        Assert.True(RunManual(server, ScramServerExchange.Mechanism, "y,,", [], "pencil", out _, out var error), error);
    }

    [Fact]
    public void Refuses_a_client_that_could_bind_when_binding_was_offered()
    {
        // The client saw no PLUS in the offer although the server made one: a downgrade (RFC 5802 section 6).
        var server = new ScramServerExchange(s_pencil, new byte[32]);

        Assert.False(server.TryHandleClientFirst(ScramServerExchange.Mechanism, Utf8("y,,n=,r=abc"), out _, out var error));
        Assert.Equal(ScramFailure.ProtocolViolation, server.Failure);
        Assert.Contains("does support channel binding", error);
    }

    [Fact]
    public void Accepts_plain_scram_when_plus_was_also_offered()
    {
        var server = new ScramServerExchange(ScramVerifier.Create("pw"), new byte[32]);

        Assert.True(Run(new ScramClientExchange("pw"), server, out var error), error);
    }

    public static TheoryData<string, string, ScramFailure, string> BadClientFirsts => new()
    {
        { "PLAIN", "n,,n=,r=abc", ScramFailure.ProtocolViolation, "invalid SASL authentication mechanism" },
        { ScramServerExchange.MechanismPlus, "p=tls-server-end-point,,n=,r=abc", ScramFailure.ProtocolViolation, "invalid SASL authentication mechanism" },
        { ScramServerExchange.Mechanism, "p=tls-server-end-point,,n=,r=abc", ScramFailure.ProtocolViolation, "includes channel binding data" },
        { ScramServerExchange.Mechanism, "p=tls-unique,,n=,r=abc", ScramFailure.NotSupported, "unsupported SCRAM channel-binding type" },
        { ScramServerExchange.Mechanism, "n,a=admin,n=,r=abc", ScramFailure.NotSupported, "authorization identity" },
        { ScramServerExchange.Mechanism, "n,,m=ext,n=,r=abc", ScramFailure.NotSupported, "unsupported SCRAM extension" },
        { ScramServerExchange.Mechanism, "", ScramFailure.ProtocolViolation, "no GS2 header" },
        { ScramServerExchange.Mechanism, "x,,n=,r=abc", ScramFailure.ProtocolViolation, "unexpected channel-binding flag" },
        { ScramServerExchange.Mechanism, "n,", ScramFailure.ProtocolViolation, "GS2 header not terminated" },
        { ScramServerExchange.Mechanism, "n,x,n=,r=abc", ScramFailure.ProtocolViolation, "unexpected attribute in GS2 header" },
        { ScramServerExchange.Mechanism, "n,,r=abc", ScramFailure.ProtocolViolation, "expected the user name" },
        { ScramServerExchange.Mechanism, "n,,n=", ScramFailure.ProtocolViolation, "expected the user name" },
        { ScramServerExchange.Mechanism, "n,,n=,x=abc", ScramFailure.ProtocolViolation, "valid client nonce" },
        { ScramServerExchange.Mechanism, "n,,n=,r=", ScramFailure.ProtocolViolation, "valid client nonce" },
        { ScramServerExchange.Mechanism, "n,,n=,r=a b", ScramFailure.ProtocolViolation, "valid client nonce" },
    };

    [Theory]
    [MemberData(nameof(BadClientFirsts))]
    public void Server_refuses_bad_client_first_messages(string mechanism, string clientFirst, ScramFailure failure, string expected)
    {
        var server = new ScramServerExchange(s_pencil);

        Assert.False(server.TryHandleClientFirst(mechanism, Utf8(clientFirst), out var serverFirst, out var error));
        Assert.Empty(serverFirst);
        Assert.Equal(failure, server.Failure);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Server_refuses_a_client_first_that_is_not_utf8()
    {
        var server = new ScramServerExchange(s_pencil);

        Assert.False(server.TryHandleClientFirst(ScramServerExchange.Mechanism, [(byte)'n', (byte)',', (byte)',', 0xFF], out _, out var error));
        Assert.Contains("not valid UTF-8", error);
    }

    public static TheoryData<string, string> BadClientFinals => new()
    {
        { "", "expected channel binding, nonce and proof" },
        { "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", "expected channel binding, nonce and proof" },
        { "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "expected channel binding, nonce and proof" },
        { "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1", "expected channel binding, nonce and proof" },
        { "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "channel binding check failed" },
        { "c=!!!!,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "channel binding is not valid base64" },
        { "c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "nonce mismatch" },
        { "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=c2hvcnQ=", "invalid client proof" },
        { "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=", "invalid client proof" },
    };

    [Theory]
    [MemberData(nameof(BadClientFinals))]
    public void Server_refuses_bad_client_final_messages(string clientFinal, string expected)
    {
        var server = new ScramServerExchange(s_pencil, null, RfcServerNonce);
        Assert.True(server.TryHandleClientFirst(ScramServerExchange.Mechanism, Utf8(RfcClientFirst), out _, out _));

        Assert.False(server.TryHandleClientFinal(Utf8(clientFinal), out var serverFinal, out var error));
        Assert.Empty(serverFinal);
        Assert.Equal(ScramFailure.ProtocolViolation, server.Failure);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Extensions_before_the_proof_are_parsed_and_signed()
    {
        // Extensions sit between nonce and proof and are part of the signed message, so only a real client can add them.
        var server = new ScramServerExchange(s_pencil, null, RfcServerNonce);
        Assert.True(server.TryHandleClientFirst(ScramServerExchange.Mechanism, Utf8(RfcClientFirst), out _, out _));

        var withExtension = RfcClientFinal.Replace(",p=", ",x=1,p=", StringComparison.Ordinal);
        Assert.False(server.TryHandleClientFinal(Utf8(withExtension), out _, out _));
        Assert.Equal(ScramFailure.InvalidProof, server.Failure);
    }

    [Fact]
    public void Server_steps_must_come_in_order()
    {
        var server = new ScramServerExchange(s_pencil, null, RfcServerNonce);
        Assert.False(server.TryHandleClientFinal(Utf8(RfcClientFinal), out _, out var error));
        Assert.Contains("unexpected", error);

        var again = new ScramServerExchange(s_pencil, null, RfcServerNonce);
        Assert.True(again.TryHandleClientFirst(ScramServerExchange.Mechanism, Utf8(RfcClientFirst), out _, out _));
        Assert.False(again.TryHandleClientFirst(ScramServerExchange.Mechanism, Utf8(RfcClientFirst), out _, out _));
    }

    [Fact]
    public void A_failed_exchange_cannot_be_continued()
    {
        var server = new ScramServerExchange(s_pencil, null, RfcServerNonce);
        Assert.True(server.TryHandleClientFirst(ScramServerExchange.Mechanism, Utf8(RfcClientFirst), out _, out _));
        Assert.False(server.TryHandleClientFinal(Utf8("c=biws,r=x,p=AAAA"), out _, out _));

        Assert.False(server.TryHandleClientFinal(Utf8(RfcClientFinal), out _, out _));
        Assert.False(server.IsAuthenticated);
    }

    [Fact]
    public void Sasl_prep_leaves_ascii_alone_and_maps_spaces_and_soft_hyphens()
    {
        Assert.Equal("pa ss\u0001"u8.ToArray(), SaslPrep.PreparePassword("pa ss\u0001"));
        Assert.Equal("pass word"u8.ToArray(), SaslPrep.PreparePassword("pass\u00A0word"));
        Assert.Equal("password"u8.ToArray(), SaslPrep.PreparePassword("pass\u00ADword"));
        Assert.Equal("grüße"u8.ToArray(), SaslPrep.PreparePassword("grüße"));
    }

    [Fact]
    public void Sasl_prep_falls_back_to_the_raw_password_when_prohibited_characters_remain()
    {
        // U+E000 is private use: PostgreSQL then hashes the raw bytes, so the mapped no-break space stays too.
        Assert.Equal(Encoding.UTF8.GetBytes("a\u00A0\uE000"), SaslPrep.PreparePassword("a\u00A0\uE000"));
        Assert.Equal(Encoding.UTF8.GetBytes("a\u00A0\u0001"), SaslPrep.PreparePassword("a\u00A0\u0001"));
    }

    [Fact]
    public void Verifier_uses_the_prepared_password()
    {
        var salt = new byte[16];

        Assert.Equal(
            ScramVerifier.Create("pass word", 4096, salt).ToString(),
            ScramVerifier.Create("pass\u2003word", 4096, salt).ToString());
    }

    private static bool Run(ScramClientExchange client, ScramServerExchange server, out string? error)
    {
        if (!server.TryHandleClientFirst(ScramServerExchange.Mechanism, client.CreateClientFirst(), out var serverFirst, out error)
            || !client.TryHandleServerFirst(serverFirst, out var clientFinal, out error)
            || !server.TryHandleClientFinal(clientFinal, out var serverFinal, out error))
        {
            return false;
        }

        return client.VerifyServerFinal(serverFinal);
    }

    /// <summary>A client written out by hand from RFC 5802, for the channel-binding flags ScramClientExchange never sends.</summary>
    private static bool RunManual(ScramServerExchange server, string mechanism, string gs2Header, byte[] bindingData, string password, out byte[] serverFinal, out string? error)
    {
        var clientFirstBare = "n=,r=" + RfcClientNonce;
        serverFinal = [];
        if (!server.TryHandleClientFirst(mechanism, Utf8(gs2Header + clientFirstBare), out var serverFirstBytes, out error))
        {
            return false;
        }

        var serverFirst = Encoding.UTF8.GetString(serverFirstBytes);
        var nonce = serverFirst.Split(',')[0][2..];
        var saltedPassword = ScramPrimitives.SaltedPassword(password, s_pencil.Salt, s_pencil.Iterations);
        var clientKey = ScramPrimitives.ClientKey(saltedPassword);
        var withoutProof = $"c={Convert.ToBase64String([.. Utf8(gs2Header), .. bindingData])},r={nonce}";
        var authMessage = Utf8($"{clientFirstBare},{serverFirst},{withoutProof}");
        var proof = ScramPrimitives.Xor(clientKey, ScramPrimitives.Signature(ScramPrimitives.StoredKey(clientKey), authMessage));
        return server.TryHandleClientFinal(Utf8($"{withoutProof},p={Convert.ToBase64String(proof)}"), out serverFinal, out error);
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
