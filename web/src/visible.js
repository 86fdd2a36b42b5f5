// visible makes a string from a card safe to show: control characters
// (C0, DEL, C1), format characters (bidirectional embeddings, overrides and
// isolates, marks, zero-width characters, the BOM, soft hyphen …), line and
// paragraph separators, private-use code points, lone surrogates and
// non-characters are written as visible escapes (\n, \x1b, \u{202e}), so a
// forged card cannot reorder, hide or fake what the officer reads. The same
// rules as the Go side's internal/textsafe.

const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}\p{Noncharacter_Code_Point}\ufffd]/gu;

const SHORT = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

export function visible(s) {
  if (s === undefined || s === null) return "";
  return String(s).replace(UNSAFE, (c) => {
    if (SHORT[c]) return SHORT[c];
    const cp = c.codePointAt(0);
    if (cp < 0x80) return "\\x" + cp.toString(16).padStart(2, "0");
    return "\\u{" + cp.toString(16).padStart(4, "0") + "}";
  });
}
