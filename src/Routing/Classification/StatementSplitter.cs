namespace Sluice.Routing.Classification;

/// <summary>One statement of a text: a token range, or the lexical error that makes it unknown.</summary>
internal readonly record struct StatementRange(int Start, int End, string? Error);

/// <summary>
/// Splits significant tokens into statements at <c>;</c> outside parentheses, as PostgreSQL and psql do, keeping
/// a SQL-standard function body (<c>CREATE FUNCTION ... BEGIN ATOMIC ...; ...; END</c>) in one statement.
/// </summary>
internal static class StatementSplitter
{
    public static void Split(ParsedText text, List<StatementRange> statements)
    {
        statements.Clear();
        var tokens = text.Tokens;
        var start = 0;
        string? error = null;
        var routine = new RoutineBodyTracker();
        for (var i = 0; i < text.Count; i++)
        {
            var token = tokens[i];
            error ??= ErrorOf(text, token);
            if (token.Kind == SqlTokenKind.Semicolon && token.Depth > 0)
            {
                error ??= "semicolon inside parentheses";
            }

            if (token.Kind == SqlTokenKind.Semicolon && token.Depth == 0 && !routine.InsideBody)
            {
                Add(statements, start, i, error);
                start = i + 1;
                error = null;
                routine = new RoutineBodyTracker();
                continue;
            }

            if (token.Kind == SqlTokenKind.Identifier && text.IsWord(start, "create"))
            {
                routine.OnWord(text, i, token.Depth);
            }
        }

        if (text.FinalDepth != 0)
        {
            error ??= "unbalanced parentheses";
        }

        Add(statements, start, text.Count, error);
    }

    private static void Add(List<StatementRange> statements, int start, int end, string? error)
    {
        if (start < end || error is not null)
        {
            statements.Add(new StatementRange(start, end, error));
        }
    }

    private static string? ErrorOf(ParsedText text, in SqlToken token) =>
        SqlLexer.DescribeError(text.Sql, token) ?? (token.Depth < 0 ? "unbalanced parentheses" : null);

    /// <summary>
    /// psql's heuristic: in a statement starting CREATE [OR REPLACE] FUNCTION|PROCEDURE, BEGIN (and CASE inside it)
    /// opens a block that END closes; semicolons inside do not end the statement.
    /// </summary>
    private struct RoutineBodyTracker
    {
        private int _header; // words of the statement header seen so far; -1 once it is not a routine
        private bool _isRoutine;
        private int _blocks;

        public readonly bool InsideBody => _blocks > 0;

        public void OnWord(ParsedText text, int i, int depth)
        {
            if (!_isRoutine)
            {
                _header = _header switch
                {
                    0 when text.IsWord(i, "create") => 1,
                    1 when text.IsWord(i, "or") => 2,
                    2 when text.IsWord(i, "replace") => 3,
                    1 or 3 when text.IsWord(i, "function") || text.IsWord(i, "procedure") => 4,
                    _ => -1,
                };
                _isRoutine = _header == 4;
                return;
            }

            if (depth != 0)
            {
                return;
            }

            if (text.IsWord(i, "begin") || (_blocks > 0 && text.IsWord(i, "case")))
            {
                _blocks++;
            }
            else if (_blocks > 0 && text.IsWord(i, "end"))
            {
                _blocks--;
            }
        }
    }
}
