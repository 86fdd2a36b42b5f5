// inflateBrotli decompresses a Brotli stream (RFC 7932) of at most limit
// bytes with the npm package "brotli" (a JavaScript port of Google's
// reference decoder; browsers' DecompressionStream has no "brotli" format
// in the Chromium this page is tested with). Claim 169 issuers may
// compress with Brotli instead of zlib.
//
// The decoder writes into an output buffer of limit + 1 bytes and stops
// with an error when a stream would overflow it, so a small hostile code
// cannot inflate to an unbounded size (the decoder's window is at most
// 16 MiB, the most it decodes before it stops).

import { decompress } from "brotli/decompress";

/** inflateBrotli decompresses z (a Uint8Array), at most limit bytes. */
export function inflateBrotli(z, limit) {
  let out;
  try {
    out = decompress(z, limit + 1);
  } catch (e) {
    const msg = e && e.message ? e.message : String(e);
    if (/not large enough/.test(msg)) throw new Error(`brotli: inflates beyond ${limit} bytes`);
    throw new Error(`brotli: ${msg}`);
  }
  if (out.length > limit) throw new Error(`brotli: inflates beyond ${limit} bytes`);
  return out;
}
