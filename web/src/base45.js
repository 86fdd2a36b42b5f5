// Base45 (RFC 9285) decoding.
//
// Three characters c, d, e stand for the 16-bit value c + 45·d + 45²·e,
// written as two bytes, most significant first; a final pair of
// characters stands for one byte. Anything else is an error.

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Base45Error reports a text that is not valid Base45. */
export class Base45Error extends Error {}

/**
 * decodeBase45 returns the bytes encoded by text.
 * @param {string} text
 * @returns {Uint8Array}
 */
export function decodeBase45(text) {
  if (text.length % 3 === 1) {
    throw new Base45Error(`base45: length ${text.length} leaves a single character`);
  }
  const out = new Uint8Array(Math.floor(text.length / 3) * 2 + (text.length % 3 === 2 ? 1 : 0));
  let o = 0;
  const val = (i) => {
    const v = VALUE.get(text[i]);
    if (v === undefined) {
      throw new Base45Error(`base45: character ${JSON.stringify(text[i])} at ${i} is not in the alphabet`);
    }
    return v;
  };
  let i = 0;
  for (; i + 3 <= text.length; i += 3) {
    const n = val(i) + 45 * val(i + 1) + 45 * 45 * val(i + 2);
    if (n > 0xffff) {
      throw new Base45Error(`base45: group at ${i} is ${n}, above 65535`);
    }
    out[o++] = n >> 8;
    out[o++] = n & 0xff;
  }
  if (i < text.length) {
    const n = val(i) + 45 * val(i + 1);
    if (n > 0xff) {
      throw new Base45Error(`base45: final pair at ${i} is ${n}, above 255`);
    }
    out[o++] = n;
  }
  return out;
}
