using System.Text;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Statements;

/// <summary>
/// SQL <c>DEALLOCATE name</c> of a statement the client prepared through the protocol. On servers that statement is a
/// shared copy under another name (psycopg 3 sends <c>DEALLOCATE _pg3_0</c> when its cache overflows; the server knows
/// only <c>sluice_7</c>), so the proxy handles it itself: it forgets the client's name and answers DEALLOCATE, the copy
/// stays for other clients. Names the client made with SQL PREPARE (which pin it to its server) are left to the server.
/// </summary>
internal static class Deallocation
{
    /// <summary>
    /// What runs on the server in the DEALLOCATE's place when other statements or an open transaction need the server:
    /// harmless anywhere (in a read-only transaction, on a standby), one CommandComplete like the DEALLOCATE, and the
    /// same 25P02 in a failed block, in order with the other statements. Its tag is rewritten to DEALLOCATE.
    /// </summary>
    public const string StandIn = "RESET sluice.deallocate";

    public const string CommandTag = "DEALLOCATE";

    /// <summary>PostgreSQL's own message for a DEALLOCATE of a name it does not know (SQLSTATE 26000).</summary>
    public static string UnknownStatementMessage(string name) => $"prepared statement \"{name}\" does not exist";

    /// <summary>The name a text's only statement deallocates, when it is one plain <c>DEALLOCATE name</c>.</summary>
    public static string? SoleName(ClassificationResult classification) =>
        classification.Statements is [{ DeallocatedName: { } name }] ? name : null;

    /// <summary>True when a statement of the text deallocates one of <paramref name="clientStatements"/>.</summary>
    public static bool Names(ClassificationResult classification, IReadOnlyDictionary<string, PreparedStatement>? clientStatements)
    {
        if (clientStatements is not { Count: > 0 })
        {
            return false;
        }

        foreach (var statement in classification.Statements)
        {
            if (statement.DeallocatedName is { } name && clientStatements.ContainsKey(name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The text to send instead, with each DEALLOCATE of a client statement replaced by <see cref="StandIn"/>, and which
    /// statements' CommandComplete must then read DEALLOCATE (the client forgets each name when its reply comes: an
    /// error earlier in the text skips it on PostgreSQL too). False when there is nothing to replace, a statement to replace is past the 64th, or
    /// the classifier could not read every statement.
    /// </summary>
    public static bool TryRewrite(string sql, ClassificationResult classification, IReadOnlyDictionary<string, PreparedStatement>? clientStatements,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? rewritten, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DeallocationPlan? plan)
    {
        rewritten = null;
        plan = null;
        ulong retagged = 0;
        if (clientStatements is not { Count: > 0 })
        {
            return false;
        }

        // Retagging counts on one CommandComplete per statement: a text the classifier could not read whole might be
        // split differently by PostgreSQL, so it goes as it is (and the server answers the DEALLOCATE with 26000).
        var statements = classification.Statements;
        foreach (var statement in statements)
        {
            if (statement.Kind == StatementKind.Unknown)
            {
                return false;
            }
        }

        StringBuilder? text = null;
        List<KeyValuePair<string, PreparedStatement>>? forgotten = null;
        var copied = 0;
        for (var i = 0; i < statements.Count; i++)
        {
            var statement = statements[i];
            if (statement.DeallocatedName is not { } name || !clientStatements.TryGetValue(name, out var prepared))
            {
                continue;
            }

            if (i >= 64 || statement.Start < copied || statement.Start + statement.Length > sql.Length)
            {
                return false;
            }

            text ??= new StringBuilder(sql.Length + StandIn.Length);
            text.Append(sql, copied, statement.Start - copied).Append(StandIn);
            copied = statement.Start + statement.Length;
            retagged |= 1UL << i;
            (forgotten ??= []).Add(new(name, prepared));
        }

        if (text is null)
        {
            return false;
        }

        rewritten = text.Append(sql, copied, sql.Length - copied).ToString();
        plan = new DeallocationPlan(retagged, [.. forgotten!]);
        return true;
    }
}

/// <summary>Which statements of a rewritten text stand in for a DEALLOCATE, and the client statement each one drops.</summary>
/// <param name="Statements">Bit i set: the i-th statement of the text is a stand-in.</param>
/// <param name="Names">The client's names (and what they stood for), one per set bit, in order.</param>
internal sealed record DeallocationPlan(ulong Statements, KeyValuePair<string, PreparedStatement>[] Names)
{
    /// <summary>The client statement the <paramref name="index"/>-th statement of the text drops, if it is a stand-in.</summary>
    public KeyValuePair<string, PreparedStatement>? At(int index)
    {
        if (index >= 64 || (Statements & (1UL << index)) == 0)
        {
            return null;
        }

        return Names[System.Numerics.BitOperations.PopCount(Statements & ((1UL << index) - 1))];
    }
}
