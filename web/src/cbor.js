// A small, strict CBOR (RFC 8949) decoder for card credentials.
//
// It decodes what a COSE_Sign1 carrying a CWT needs and refuses the rest
// early: indefinite lengths, duplicate map keys, integers beyond 2^53,
// nesting deeper than maxDepth, more than maxItems items in all, and
// strings longer than what is left of the input. Byte strings come back
// as Uint8Array, maps as Map, tags as Tagged.

/** CBORError reports input that is not acceptable CBOR. */
export class CBORError extends Error {}

/** Tagged is a CBOR tag (major type 6) and its content. */
export class Tagged {
  /** @param {number} tag @param {*} value */
  constructor(tag, value) {
    this.tag = tag;
    this.value = value;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * decodeCBOR decodes exactly one CBOR item filling all of bytes.
 * @param {Uint8Array} bytes
 * @param {{maxDepth?: number, maxItems?: number, allowTags?: boolean}} [opts]
 */
export function decodeCBOR(bytes, opts = {}) {
  const maxDepth = opts.maxDepth ?? 8;
  let itemsLeft = opts.maxItems ?? 512;
  const allowTags = opts.allowTags ?? false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;

  const need = (n) => {
    if (n > bytes.length - pos) {
      throw new CBORError(`cbor: truncated at byte ${pos} (need ${n} more)`);
    }
  };
  const argument = (info) => {
    if (info < 24) return info;
    switch (info) {
      case 24: need(1); return bytes[pos++];
      case 25: need(2); pos += 2; return view.getUint16(pos - 2);
      case 26: need(4); pos += 4; return view.getUint32(pos - 4);
      case 27: {
        need(8);
        const hi = view.getUint32(pos), lo = view.getUint32(pos + 4);
        pos += 8;
        if (hi >= 0x200000) throw new CBORError(`cbor: integer at byte ${pos - 9} beyond 2^53`);
        return hi * 0x100000000 + lo;
      }
    }
    if (info === 31) throw new CBORError(`cbor: indefinite length at byte ${pos - 1} is not allowed`);
    throw new CBORError(`cbor: reserved additional information ${info} at byte ${pos - 1}`);
  };
  const item = (depth) => {
    if (depth > maxDepth) throw new CBORError(`cbor: nested deeper than ${maxDepth}`);
    if (--itemsLeft < 0) throw new CBORError("cbor: too many items");
    need(1);
    const ib = bytes[pos++];
    const major = ib >> 5, info = ib & 0x1f;
    if (major === 7) {
      switch (info) {
        case 20: return false;
        case 21: return true;
        case 22: return null;
        case 23: return undefined;
        case 25: need(2); pos += 2; return halfToNumber(view.getUint16(pos - 2));
        case 26: need(4); pos += 4; return view.getFloat32(pos - 4);
        case 27: need(8); pos += 8; return view.getFloat64(pos - 8);
      }
      throw new CBORError(`cbor: unsupported simple value ${info} at byte ${pos - 1}`);
    }
    const n = argument(info);
    switch (major) {
      case 0: return n;
      case 1: return -1 - n;
      case 2: need(n); pos += n; return bytes.slice(pos - n, pos);
      case 3: {
        need(n); pos += n;
        try {
          return utf8.decode(bytes.subarray(pos - n, pos));
        } catch {
          throw new CBORError(`cbor: text string at byte ${pos - n} is not UTF-8`);
        }
      }
      case 4: {
        if (n > itemsLeft) throw new CBORError(`cbor: array of ${n} items is too long`);
        const a = [];
        for (let i = 0; i < n; i++) a.push(item(depth + 1));
        return a;
      }
      case 5: {
        if (2 * n > itemsLeft) throw new CBORError(`cbor: map of ${n} pairs is too long`);
        const m = new Map();
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1);
          if (typeof k !== "number" && typeof k !== "string") {
            throw new CBORError("cbor: map key is neither an integer nor a text string");
          }
          if (m.has(k)) throw new CBORError(`cbor: duplicate map key ${JSON.stringify(k)}`);
          m.set(k, item(depth + 1));
        }
        return m;
      }
      case 6:
        if (!allowTags) throw new CBORError(`cbor: tag ${n} is not allowed here`);
        return new Tagged(n, item(depth + 1));
    }
    throw new CBORError("cbor: unreachable major type");
  };
  const v = item(0);
  if (pos !== bytes.length) {
    throw new CBORError(`cbor: ${bytes.length - pos} bytes of trailing data`);
  }
  return v;
}

function halfToNumber(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** head returns the CBOR head of a major type and length. */
function head(major, n) {
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n < 0x100) return [m | 24, n];
  if (n < 0x10000) return [m | 25, n >> 8, n & 0xff];
  return [m | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

/**
 * sigStructure returns the COSE Sig_structure for a COSE_Sign1 (RFC 9052
 * section 4.4): the array ["Signature1", body_protected, external_aad,
 * payload], encoded as CBOR with definite lengths.
 * @param {Uint8Array} protectedHeader the protected header bstr's content
 * @param {Uint8Array} externalAAD
 * @param {Uint8Array} payload
 */
export function sigStructure(protectedHeader, externalAAD, payload) {
  const ctx = new TextEncoder().encode("Signature1");
  const parts = [
    Uint8Array.of(...head(4, 4)),
    Uint8Array.of(...head(3, ctx.length)), ctx,
    Uint8Array.of(...head(2, protectedHeader.length)), protectedHeader,
    Uint8Array.of(...head(2, externalAAD.length)), externalAAD,
    Uint8Array.of(...head(2, payload.length)), payload,
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
