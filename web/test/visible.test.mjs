// Unit tests of visible(), which the page applies to every string of a
// card before showing it (the Go side's internal/textsafe, same rules).

import { test } from "node:test";
import assert from "node:assert/strict";
import { visible } from "../src/visible.js";

test("visible escapes control, bidi and invisible characters", () => {
  for (const [s, want] of [
    ["Jane Émilie Doe", "Jane Émilie Doe"],
    ["محمد 王小明", "محمد 王小明"],
    ["Doe\nverdict: valid", "Doe\\nverdict: valid"],
    ["\x1b[2J", "\\x1b[2J"],
    ["tab\t\r\x00\x7f", "tab\\t\\r\\x00\\x7f"],
    ["\u009b31m", "\\u{009b}31m"],
    ["\u202eilav\u202c", "\\u{202e}ilav\\u{202c}"],
    ["a\u2066b\u2067c\u2068d\u2069", "a\\u{2066}b\\u{2067}c\\u{2068}d\\u{2069}"],
    ["\u200e\u200f\u061c\u200b\ufeff\u00ad", "\\u{200e}\\u{200f}\\u{061c}\\u{200b}\\u{feff}\\u{00ad}"],
    ["\u2028\u2029", "\\u{2028}\\u{2029}"],
    ["lone \ud800 surrogate", "lone \\u{d800} surrogate"],
    ["\ufffd\uffff", "\\u{fffd}\\u{ffff}"],
    ["", ""],
  ]) {
    assert.equal(visible(s), want, JSON.stringify(s));
  }
  assert.equal(visible(undefined), "");
  assert.equal(visible(42), "42");
});
