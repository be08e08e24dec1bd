package dev.sdmesh.models;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Serialises maps/lists/scalars exactly like Python's {@code json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=...)},
 * which is how diffusers and transformers write their config files, so generated folders match real ones byte for byte
 * in formatting.
 */
final class PythonJson {
    private final boolean ensureAscii;
    private final StringBuilder out = new StringBuilder();

    private PythonJson(boolean ensureAscii) {
        this.ensureAscii = ensureAscii;
    }

    /** The document followed by a newline, as the libraries write it. */
    static String dumps(Object value, boolean ensureAscii) {
        PythonJson json = new PythonJson(ensureAscii);
        json.value(value, 0);
        return json.out.append('\n').toString();
    }

    private void value(Object v, int depth) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof Boolean bool) {
            out.append(bool ? "true" : "false");
        } else if (v instanceof Double || v instanceof Float) {
            out.append(floatRepr(((Number) v).doubleValue()));
        } else if (v instanceof Number n) {
            out.append(n.longValue());
        } else if (v instanceof String s) {
            string(s);
        } else if (v instanceof Map<?, ?> map) {
            object(map, depth);
        } else if (v instanceof List<?> list) {
            array(list, depth);
        } else {
            throw new IllegalArgumentException("not JSON: " + v.getClass());
        }
    }

    private void object(Map<?, ?> map, int depth) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        Map<?, ?> entries = new TreeMap<>(map);
        out.append('{');
        String sep = "";
        for (Map.Entry<?, ?> e : entries.entrySet()) {
            out.append(sep);
            newline(depth + 1);
            string((String) e.getKey());
            out.append(": ");
            value(e.getValue(), depth + 1);
            sep = ",";
        }
        newline(depth);
        out.append('}');
    }

    private void array(List<?> list, int depth) {
        if (list.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        String sep = "";
        for (Object item : list) {
            out.append(sep);
            newline(depth + 1);
            value(item, depth + 1);
            sep = ",";
        }
        newline(depth);
        out.append(']');
    }

    private void newline(int depth) {
        out.append('\n').append("  ".repeat(depth));
    }

    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (ch < 0x20 || (ensureAscii && ch > 0x7e)) {
                        out.append(String.format("\\u%04x", (int) ch));
                    } else {
                        out.append(ch);
                    }
                }
            }
        }
        out.append('"');
    }

    /** Python's float repr: shortest digits, positional for exponents in [-4, 16), else d.ddde-XX. */
    static String floatRepr(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e16) {
            return Long.toString((long) d) + ".0";
        }
        BigDecimal dec = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exponent = dec.precision() - dec.scale() - 1;
        if (exponent >= -4 && exponent < 16) {
            return dec.toPlainString();
        }
        String digits = dec.unscaledValue().abs().toString();
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+")
                + String.format("%02d", Math.abs(exponent));
    }
}
