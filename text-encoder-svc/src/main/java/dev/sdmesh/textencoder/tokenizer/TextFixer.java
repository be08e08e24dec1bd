package dev.sdmesh.textencoder.tokenizer;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The part of {@code ftfy.fix_text} (ftfy 6.1.1, default config) that CLIPTokenizer runs on every prompt.
 * The steps run in ftfy's order and repeat until the text stops changing:
 * unescape_html (auto) → fix_encoding → fix_c1_controls → fix_latin_ligatures → fix_character_width →
 * uncurl_quotes → fix_line_breaks → remove_terminal_escapes → remove_control_chars → NFC.
 *
 * <p>fix_encoding is reduced to ftfy's main case: a line that is UTF-8 read as (sloppy) windows-1252, detected by
 * the whole line re-encoding to windows-1252 and decoding as strict UTF-8. ftfy's badness heuristics for partial
 * mojibake, lossy sequences and lost 0xA0 bytes are left out; such text is passed on unchanged.
 */
final class TextFixer {
    /** windows-1252 0x80..0x9F; ftfy's "sloppy" variant keeps the 5 undefined bytes as the C1 code points. */
    private static final char[] CP1252_80_9F = {
            '\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
            '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
            '\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
            '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178'};
    private static final Pattern HTML_ENTITY = Pattern.compile("&#?[0-9A-Za-z]{1,24};");
    private static final Pattern TERMINAL_ESCAPE = Pattern.compile("\u001B\\[((?:\\d|;)*)([a-zA-Z])");
    private static final Pattern SINGLE_QUOTE = Pattern.compile("[\u02BC\u2018-\u201B]");
    private static final Pattern DOUBLE_QUOTE = Pattern.compile("[\u201C-\u201F]");
    private static final String LIGATURES = "\u0132\u0133\u0149\u01C4\u01C5\u01C6\u01C7\u01C8\u01C9\u01CA\u01CB\u01CC"
            + "\u01F1\u01F2\u01F3\uFB00\uFB01\uFB02\uFB03\uFB04\uFB05\uFB06";
    /** ftfy stops after this many passes at the latest; real text settles in one or two. */
    private static final int MAX_PASSES = 8;

    private TextFixer() {
    }

    /** {@code ftfy.fix_text(text)}: line by line; once a line contains '<', HTML is no longer unescaped (ftfy's "auto"). */
    static String fixText(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean unescapeHtml = true;
        int pos = 0;
        while (pos < text.length()) {
            int lineEnd = text.indexOf('\n', pos) + 1;
            if (lineEnd == 0) lineEnd = text.length();
            String segment = text.substring(pos, lineEnd);
            if (segment.indexOf('<') >= 0) unescapeHtml = false;
            out.append(fixSegment(segment, unescapeHtml));
            pos = lineEnd;
        }
        return out.toString();
    }

    private static String fixSegment(String text, boolean unescapeHtml) {
        for (int pass = 0; pass < MAX_PASSES; pass++) {
            String original = text;
            if (unescapeHtml) text = unescapeHtml(text);
            text = fixEncoding(text);
            text = fixC1Controls(text);
            text = normalizeEach(text, c -> LIGATURES.indexOf(c) >= 0);
            text = normalizeEach(text, c -> c >= 0xFF01 && c < 0xFFF0).replace('\u3000', ' ');
            text = DOUBLE_QUOTE.matcher(SINGLE_QUOTE.matcher(text).replaceAll("'")).replaceAll("\"");
            text = text.replace("\r\n", "\n").replaceAll("[\r\u2028\u2029\u0085]", "\n");
            text = TERMINAL_ESCAPE.matcher(text).replaceAll("");
            text = removeControlChars(text);
            text = Normalizer.normalize(text, Normalizer.Form.NFC);
            if (text.equals(original)) break;
        }
        return text;
    }

    private static String unescapeHtml(String text) {
        if (text.indexOf('&') < 0) return text;
        Matcher m = HTML_ENTITY.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) m.appendReplacement(out, Matcher.quoteReplacement(unescapeEntity(m.group())));
        m.appendTail(out);
        return out.toString();
    }

    /** ftfy's {@code _unescape_fixup}: named entities from its table, numeric ones as Python's {@code html.unescape}. */
    private static String unescapeEntity(String reference) {
        String named = HtmlEntities.named(reference);
        if (named != null) return named;
        if (!reference.startsWith("&#")) return reference;
        String digits = reference.substring(2, reference.length() - 1);
        // Anything but a whole decimal or hex number leaves text after Python's charref, so ftfy keeps the original.
        if (!digits.matches("[0-9]+|[xX][0-9a-fA-F]+")) return reference;
        BigInteger value = digits.charAt(0) == 'x' || digits.charAt(0) == 'X'
                ? new BigInteger(digits.substring(1), 16) : new BigInteger(digits);
        if (value.compareTo(BigInteger.valueOf(0x10FFFF)) > 0) return "\uFFFD";
        int codePoint = value.intValue();
        if (codePoint >= 0x80 && codePoint <= 0x9F) return String.valueOf(CP1252_80_9F[codePoint - 0x80]);
        if (codePoint == 0) return "\uFFFD";
        if (codePoint == 0x0D) return "\r";
        if (codePoint >= 0xD800 && codePoint <= 0xDFFF) return "\uFFFD";
        if (isInvalidCharref(codePoint)) return "";
        return new String(Character.toChars(codePoint));
    }

    /** Python's {@code html._invalid_codepoints}: control characters and non-characters unescape to nothing. */
    private static boolean isInvalidCharref(int cp) {
        return (cp >= 0x1 && cp <= 0x8) || cp == 0xB || (cp >= 0xE && cp <= 0x1F) || (cp >= 0x7F && cp <= 0x9F)
                || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
    }

    private static String fixEncoding(String text) {
        byte[] bytes = new byte[text.length()];
        boolean highByte = false;
        for (int i = 0; i < text.length(); i++) {
            int b = sloppyCp1252Byte(text.charAt(i));
            if (b < 0) return text;
            highByte |= b >= 0x80;
            bytes[i] = (byte) b;
        }
        if (!highByte) return text;
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return text;
        }
    }

    private static int sloppyCp1252Byte(char c) {
        if (c < 0x80 || (c >= 0xA0 && c <= 0xFF)) return c;
        for (int i = 0; i < CP1252_80_9F.length; i++) if (CP1252_80_9F[i] == c) return 0x80 + i;
        return -1;
    }

    private static String fixC1Controls(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x80 && c <= 0x9F) {
                if (out == null) out = new StringBuilder(text.substring(0, i));
                out.append(CP1252_80_9F[c - 0x80]);
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
    }

    /** NFKC of each selected character (ftfy's ligature and character-width maps are exactly that). */
    private static String normalizeEach(String text, IntPredicate selected) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (selected.test(c)) out.append(Normalizer.normalize(String.valueOf(c), Normalizer.Form.NFKC));
            else out.append(c);
        }
        return out.toString();
    }

    private static String removeControlChars(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean control = c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F
                    || (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
            if (!control) out.append(c);
        }
        return out.toString();
    }
}
