using Sluice.Protocol.Authentication;

namespace Sluice.Protocol.Tests;

public class Md5PasswordTests
{
    private static readonly byte[] s_salt = [1, 2, 3, 4];

    [Fact]
    public void Hashes_as_postgresql_stores_it()
    {
        Assert.Equal("md53175bce1d3201d16594cebf9d7eb3f9d", Md5Password.Hash("postgres", "postgres"));
    }

    [Fact]
    public void Computes_the_same_response_from_the_password_or_the_stored_hash()
    {
        // md5(md5hex("postgrespostgres") + 01 02 03 04), computed independently.
        const string expected = "md568be9ed08db75f318087ab337aaea044";

        Assert.Equal(expected, Md5Password.ComputeResponse("postgres", "postgres", s_salt));
        Assert.Equal(expected, Md5Password.ComputeResponse("postgres", "md53175bce1d3201d16594cebf9d7eb3f9d", s_salt));
    }

    [Fact]
    public void Verifies_right_and_wrong_responses()
    {
        var response = Md5Password.ComputeResponse("app", "secret", s_salt);

        Assert.True(Md5Password.Verify("app", "secret", s_salt, response));
        Assert.True(Md5Password.Verify("app", Md5Password.Hash("app", "secret"), s_salt, response));
        Assert.False(Md5Password.Verify("app", "Secret", s_salt, response));
        Assert.False(Md5Password.Verify("other", "secret", s_salt, response));
        Assert.False(Md5Password.Verify("app", "secret", [4, 3, 2, 1], response));
        Assert.False(Md5Password.Verify("app", "secret", s_salt, response[..^1]));
        Assert.False(Md5Password.Verify("app", "secret", s_salt, ""));
    }

    [Fact]
    public void Salt_must_be_four_bytes()
    {
        Assert.Throws<ArgumentException>(() => Md5Password.ComputeResponse("u", "p", [1, 2, 3]));
    }

    [Theory]
    [InlineData("md53175bce1d3201d16594cebf9d7eb3f9d", true)]
    [InlineData("md5", false)]
    [InlineData("postgres", false)]
    public void Recognises_stored_hashes(string text, bool expected)
    {
        Assert.Equal(expected, Md5Password.LooksLikeHash(text));
    }
}
