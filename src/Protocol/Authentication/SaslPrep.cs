using System.Text;

namespace Sluice.Protocol.Authentication;

/// <summary>
/// The password bytes SCRAM hashes, prepared the way PostgreSQL's pg_saslprep does (RFC 4013), so that a verifier
/// made here matches one PostgreSQL made for the same password and the other way round.
/// </summary>
/// <remarks>
/// What is done: an ASCII password is used as is (as PostgreSQL does, even with control characters). Otherwise
/// non-ASCII spaces (C.1.2) become U+0020 and "commonly mapped to nothing" characters (B.1) are dropped; then the
/// result is NFKC-normalized when the runtime can (it cannot under InvariantGlobalization, which Sluice uses, so there
/// the step is skipped); then if it holds a prohibited (C.1.2–C.9) or unassigned code point, or the string is not
/// valid UTF-16, the raw UTF-8 bytes of the password are used instead, as PostgreSQL falls back to the raw bytes.
/// Not done: the bidirectional-text check. Passwords typed on a keyboard are already NFKC in practice, so the two
/// omissions only matter for passwords with compatibility characters (ligatures, full-width forms) or mixed
/// right-to-left and left-to-right text with mapped spaces.
/// </remarks>
internal static class SaslPrep
{
    private static readonly bool s_canNormalize = CanNormalize();

    public static byte[] PreparePassword(string password)
    {
        if (Ascii.IsValid(password) || !TryPrepare(password, out var prepared))
        {
            return Encoding.UTF8.GetBytes(password);
        }

        return Encoding.UTF8.GetBytes(prepared);
    }

    internal static bool TryPrepare(string input, out string prepared)
    {
        prepared = "";
        var mapped = new StringBuilder(input.Length);
        Span<char> utf16 = stackalloc char[2];
        var rest = input.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return false;
            }

            rest = rest.Slice(consumed);
            if (IsNonAsciiSpace(rune.Value))
            {
                mapped.Append(' ');
            }
            else if (!IsMappedToNothing(rune.Value))
            {
                mapped.Append(utf16.Slice(0, rune.EncodeToUtf16(utf16)));
            }
        }

        var text = mapped.ToString();
        if (s_canNormalize)
        {
            text = text.Normalize(NormalizationForm.FormKC);
        }

        foreach (var rune in text.EnumerateRunes())
        {
            if (IsProhibited(rune.Value) || Rune.GetUnicodeCategory(rune) == System.Globalization.UnicodeCategory.OtherNotAssigned)
            {
                return false;
            }
        }

        prepared = text;
        return true;
    }

    private static bool CanNormalize()
    {
        try
        {
            return "\uFB01".Normalize(NormalizationForm.FormKC) == "fi";
        }
        catch (PlatformNotSupportedException)
        {
            return false;
        }
    }

    // RFC 3454 table C.1.2, as PostgreSQL's non_ascii_space_ranges.
    private static bool IsNonAsciiSpace(int c)
        => c is 0x00A0 or 0x1680 or (>= 0x2000 and <= 0x200B) or 0x202F or 0x205F or 0x3000;

    // RFC 3454 table B.1.
    private static bool IsMappedToNothing(int c)
        => c is 0x00AD or 0x034F or 0x1806 or (>= 0x180B and <= 0x180D) or (>= 0x200B and <= 0x200D) or 0x2060
            or (>= 0xFE00 and <= 0xFE0F) or 0xFEFF;

    // RFC 4013 section 2.3: tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9.
    private static bool IsProhibited(int c)
        => IsNonAsciiSpace(c)
            || c is <= 0x1F or (>= 0x7F and <= 0x9F)
            || c is 0x06DD or 0x070F or 0x180E or 0x200C or 0x200D or 0x2028 or 0x2029 or (>= 0x2060 and <= 0x2063)
            || c is (>= 0x206A and <= 0x206F) or 0xFEFF or (>= 0xFFF9 and <= 0xFFFD) or (>= 0x1D173 and <= 0x1D17A)
            || c is (>= 0xE000 and <= 0xF8FF) or (>= 0xF0000 and <= 0xFFFFD) or (>= 0x100000 and <= 0x10FFFD)
            || c is (>= 0xFDD0 and <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE
            || c is (>= 0xD800 and <= 0xDFFF)
            || c is (>= 0x2FF0 and <= 0x2FFB)
            || c is 0x0340 or 0x0341 or 0x200E or 0x200F or (>= 0x202A and <= 0x202E)
            || c is 0xE0001 or (>= 0xE0020 and <= 0xE007F);
}
