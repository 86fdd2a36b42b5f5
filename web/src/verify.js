// Verification of a card's QR text: Base45 → zlib → COSE_Sign1 → signature
// by a key of the embedded trust list → CWT claims with Claim 169 →
// deny list → validity dates. It follows the order and the verdicts of the
// Go verifier (package security) so that the page and "cardd verify" agree.

import { decodeBase45 } from "./base45.js";
import { decodeCBOR, sigStructure, Tagged } from "./cbor.js";
import { visible } from "./visible.js";

/** The verdicts, as the Go verifier names them. Only VALID accepts a card. */
export const Verdict = Object.freeze({
  VALID: "valid",
  EXPIRED: "expired",
  NOT_YET_VALID: "not-yet-valid",
  REVOKED: "revoked",
  UNKNOWN_KEY: "unknown-key",
  BAD_SIGNATURE: "bad-signature",
  MALFORMED: "malformed",
});

/** Limits, the same as the Go verifier's. */
export const Limits = Object.freeze({
  maxQRText: 4296, // a version 40 QR holds 4296 alphanumeric characters
  maxDecompressed: 16 << 10, // the inflated COSE_Sign1
  maxTextField: 256, // bytes of one text attribute
  maxFace: 2048, // bytes of the face thumbnail
});

const COSE_SIGN1_TAG = 18;
const CWT_TAG = 61;
const HDR_ALG = 1, HDR_KID = 4;
const ALG_EDDSA = -8, ALG_ES256 = -7;
const KID_LEN = 8;

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** isZlib says whether z starts with a zlib header (CM 8, a header checksum divisible by 31). */
export function isZlib(z) {
  return z.length >= 2 && (z[0] & 0x0f) === 8 && ((z[0] << 8) | z[1]) % 31 === 0;
}

/**
 * inflatePayload decompresses a QR payload of at most limit bytes. Claim
 * 169 issuers may use zlib or Brotli: a zlib header tells them apart, and
 * anything else is read as Brotli (which has no magic number), as the Go
 * verifier does. brotli is the Brotli decoder, (bytes, limit) → bytes
 * (src/brotli.js in the page); without one a Brotli payload is refused.
 */
export async function inflatePayload(z, limit = Limits.maxDecompressed, brotli = null) {
  if (isZlib(z)) return inflateZlib(z, limit);
  if (!brotli) throw new Error("payload is not zlib, and no Brotli decoder is loaded");
  return brotli(z, limit);
}

/** inflateZlib decompresses a zlib stream of at most limit bytes. */
export async function inflateZlib(z, limit = Limits.maxDecompressed) {
  if (!isZlib(z)) {
    throw new Error("payload is not zlib");
  }
  const ds = new DecompressionStream("deflate");
  const writer = ds.writable.getWriter();
  writer.write(z).catch(() => {});
  writer.close().catch(() => {});
  const reader = ds.readable.getReader();
  const chunks = [];
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      if (n > limit) {
        reader.cancel().catch(() => {});
        throw new Error(`zlib: inflates beyond ${limit} bytes`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof Error && e.message.startsWith("zlib:")) throw e;
    throw new Error(`zlib: ${e && e.message ? e.message : e}`);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function pemToDER(pem) {
  const m = /-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/.exec(pem || "");
  if (!m) throw new Error('no "PUBLIC KEY" PEM block');
  const bin = atob(m[1].replace(/\s+/g, ""));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function importKey(der) {
  try {
    return { alg: "ed25519", cose: ALG_EDDSA, key: await crypto.subtle.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]) };
  } catch {
    // not an Ed25519 key (or no Ed25519 in this browser): try P-256
  }
  try {
    return {
      alg: "es256", cose: ALG_ES256,
      key: await crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]),
    };
  } catch {
    throw new Error("not an Ed25519 or ECDSA P-256 public key this browser can use");
  }
}

function parseTime(s, what) {
  if (!s) return null;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new Error(`${what} ${JSON.stringify(s)} is not a time`);
  return new Date(t);
}

/**
 * loadTrustList imports the keys of a trust list file ({"keys": [...]}, the
 * format of package security). Entries that cannot be used are left out and
 * reported in problems, never silently trusted.
 */
export async function loadTrustList(file) {
  const keys = new Map();
  const problems = [];
  const entries = (file && Array.isArray(file.keys)) ? file.keys : [];
  for (const [i, e] of entries.entries()) {
    try {
      if (!e.issuer) throw new Error("issuer is empty");
      const der = pemToDER(e.public_key);
      const kid = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", der)).subarray(0, KID_LEN));
      if (kid !== e.kid) throw new Error(`kid does not match the public key (key's kid is ${kid})`);
      const k = await importKey(der);
      const tk = {
        issuer: e.issuer, kid, alg: k.alg, cose: k.cose, key: k.key,
        notBefore: parseTime(e.not_before, "not_before"), notAfter: parseTime(e.not_after, "not_after"),
      };
      if (!keys.has(kid)) keys.set(kid, []);
      keys.get(kid).push(tk);
    } catch (err) {
      // The text quotes the list (issuer, kid, a time) and is shown to
      // the officer: control, bidi and invisible characters are escaped.
      problems.push(visible(`trust list entry ${i} (issuer ${JSON.stringify(e && e.issuer)}, kid ${e && e.kid}): ${err.message}`));
    }
  }
  return { keys, problems, size: entries.length - problems.length };
}

/** loadDenyList returns the set of denied serials of a deny list file. */
export function loadDenyList(file) {
  const serials = (file && Array.isArray(file.serials)) ? file.serials.filter((s) => typeof s === "string" && s) : [];
  return { set: new Set(serials), generated: file && file.generated ? file.generated : "" };
}

class Malformed extends Error {}

function parseSign1(raw) {
  // Claim 169 allows the COSE_Sign1 tagged (18), inside the CWT tag as
  // 61(18(…)), or untagged; the Go verifier reads the same three forms.
  const top = decodeCBOR(raw, { allowTags: true, maxDepth: 5, maxItems: 64 });
  let a = top;
  if (top instanceof Tagged) {
    let t = top;
    if (t.tag === CWT_TAG) {
      if (!(t.value instanceof Tagged) || t.value.tag !== COSE_SIGN1_TAG) {
        throw new Malformed("COSE_Sign1: CWT tag 61 must hold a tagged COSE_Sign1 (tag 18)");
      }
      t = t.value;
    }
    if (t.tag !== COSE_SIGN1_TAG) throw new Malformed(`COSE_Sign1: tag ${t.tag} is not COSE_Sign1 (18)`);
    a = t.value;
  }
  if (!Array.isArray(a) || a.length !== 4) throw new Malformed("COSE_Sign1: not an array of 4");
  const [prot, unprot, payload, sig] = a;
  if (!(prot instanceof Uint8Array)) throw new Malformed("COSE_Sign1: protected header is not a byte string");
  if (!(unprot instanceof Map)) throw new Malformed("COSE_Sign1: unprotected header is not a map");
  if (!(payload instanceof Uint8Array)) throw new Malformed("COSE_Sign1: payload is not a byte string (detached payloads are not supported)");
  if (!(sig instanceof Uint8Array)) throw new Malformed("COSE_Sign1: signature is not a byte string");
  let protMap = new Map();
  if (prot.length > 0) {
    try {
      protMap = decodeCBOR(prot, { maxDepth: 3, maxItems: 64 });
    } catch (e) {
      throw new Malformed(`COSE_Sign1: protected header: ${e.message}`);
    }
    if (!(protMap instanceof Map)) throw new Malformed("COSE_Sign1: protected header is not a map");
  }
  for (const k of protMap.keys()) {
    if (unprot.has(k)) throw new Malformed(`COSE_Sign1: header ${k} is both protected and unprotected`);
  }
  let kid = null;
  for (const m of [protMap, unprot]) {
    if (!m.has(HDR_KID)) continue;
    const v = m.get(HDR_KID);
    if (!(v instanceof Uint8Array) || v.length !== KID_LEN) throw new Malformed(`kid header is not ${KID_LEN} bytes`);
    kid = hex(v);
    break;
  }
  if (kid === null) throw new Malformed("no kid in the COSE headers");
  if (!protMap.has(HDR_ALG)) throw new Malformed("COSE algorithm: no alg in the protected header");
  const alg = protMap.get(HDR_ALG);
  if (typeof alg !== "number" && typeof alg !== "string") throw new Malformed("COSE algorithm: alg is neither an integer nor a text string");
  return { prot, payload, sig, kid, alg };
}

const str = (m, k, what) => {
  if (!m.has(k)) return "";
  const v = m.get(k);
  if (typeof v !== "string") throw new Error(`${what} (key ${k}) is not a text string`);
  if (new TextEncoder().encode(v).length > Limits.maxTextField) {
    throw new Error(`claim 169: text attribute of more than ${Limits.maxTextField} bytes`);
  }
  return v;
};
const int = (m, k, what) => {
  if (!m.has(k)) return 0;
  const v = m.get(k);
  if (!Number.isInteger(v)) throw new Error(`${what} (key ${k}) is not an integer`);
  return v;
};
const GENDERS = { 1: "male", 2: "female", 3: "other" };
const FACE_TYPES = { 0: "image/png", 1: "image/jpeg", 4: "image/webp" };

/** parseClaims decodes the CWT claims and the Claim 169 attributes. */
export function parseClaims(payload) {
  const c = decodeCBOR(payload, { maxDepth: 8, maxItems: 256 });
  if (!(c instanceof Map)) throw new Error("CWT claims: not a map");
  const cred = {
    issuer: str(c, 1, "iss"),
    expires: int(c, 4, "exp"), notBefore: int(c, 5, "nbf"), issuedAt: int(c, 6, "iat"),
  };
  if (!c.has(169)) throw new Error("CWT claims: no claim 169");
  const id = c.get(169);
  if (!(id instanceof Map)) throw new Error("CWT claims: claim 169 is not a map");
  cred.id = str(id, 1, "id");
  cred.fullName = str(id, 4, "full name");
  cred.dateOfBirth = str(id, 8, "date of birth");
  const g = int(id, 9, "gender");
  cred.gender = g === 0 ? "" : (GENDERS[g] || `gender(${g})`);
  cred.nationality = str(id, 13, "nationality");
  cred.legalStatus = str(id, 22, "legal status");
  cred.countryOfIssuance = str(id, 23, "country of issuance");
  cred.cardType = str(id, 99, "card type");
  cred.face = null;
  if (id.has(62)) {
    const faces = id.get(62);
    if (!Array.isArray(faces)) throw new Error("claim 169: face (key 62) is not an array");
    for (const b of faces) {
      if (!(b instanceof Map)) throw new Error("claim 169: face entry is not a map");
      const data = b.get(0);
      if (!(data instanceof Uint8Array)) throw new Error("claim 169: face data is not a byte string");
      const format = int(b, 1, "face format"), sub = int(b, 2, "face sub-format");
      if (format === 0 && data.length > 0 && cred.face === null) {
        if (data.length > Limits.maxFace) throw new Error(`claim 169: face of ${data.length} bytes (max ${Limits.maxFace})`);
        cred.face = { data, subFormat: sub, type: FACE_TYPES[sub] || "" };
      }
    }
  }
  return cred;
}

/** fieldsOf returns the holder's fields as [label, value] pairs, as the Go side orders them. */
export function fieldsOf(c) {
  const out = [];
  const add = (label, v) => { if (v) out.push([label, v]); };
  add("id", c.id);
  add("full_name", c.fullName);
  add("date_of_birth", c.dateOfBirth);
  add("gender", c.gender);
  add("nationality", c.nationality);
  add("legal_status", c.legalStatus);
  add("country_of_issuance", c.countryOfIssuance);
  add("card_type", c.cardType);
  if (c.face) add("face", `${c.face.data.length} bytes, sub-format ${c.face.subFormat}`);
  return out;
}

const iso = (s) => (s ? new Date(s * 1000).toISOString().replace(".000Z", "Z") : "");

async function verifyWith(k, alg, sign1) {
  if (k.cose !== alg) return false;
  const data = sigStructure(sign1.prot, new Uint8Array(0), sign1.payload);
  const algo = k.alg === "ed25519" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
  try {
    return await crypto.subtle.verify(algo, k.key, sign1.sig, data);
  } catch {
    return false;
  }
}

/**
 * verifyText checks a QR text against a loaded trust list and deny list at
 * time now (a Date). brotli decodes Brotli payloads (see inflatePayload).
 * It never throws: every failure is a verdict.
 */
export async function verifyText(text, trust, deny, now = new Date(), brotli = null) {
  const res = { verdict: Verdict.MALFORMED, reason: "", fields: [] };
  try {
    text = String(text).replace(/[\r\n]+$/, "");
    if (text.length > Limits.maxQRText) {
      res.reason = `text is ${text.length} characters (max ${Limits.maxQRText})`;
      return res;
    }
    let raw, sign1;
    try {
      raw = await inflatePayload(decodeBase45(text), Limits.maxDecompressed, brotli);
      sign1 = parseSign1(raw);
    } catch (e) {
      res.reason = e.message;
      return res;
    }
    res.kid = sign1.kid;
    let cred = null, credErr = null;
    try {
      cred = parseClaims(sign1.payload);
      res.credential = cred;
      res.fields = fieldsOf(cred);
      res.issuer = cred.issuer;
      res.issuedAt = iso(cred.issuedAt);
      res.notBefore = iso(cred.notBefore);
      res.expires = iso(cred.expires);
    } catch (e) {
      credErr = e;
    }
    const candidates = trust.keys.get(sign1.kid) || [];
    if (candidates.length === 0) {
      res.verdict = Verdict.UNKNOWN_KEY;
      res.reason = `no trusted key with kid ${sign1.kid}`;
      return res;
    }
    let key = null;
    for (const k of candidates) {
      if (await verifyWith(k, sign1.alg, sign1)) {
        key = k;
        break;
      }
    }
    if (key === null) {
      res.verdict = Verdict.BAD_SIGNATURE;
      res.reason = `signature does not verify with the trusted key(s) of kid ${sign1.kid}`;
      return res;
    }
    res.alg = key.alg;
    if (credErr) {
      res.verdict = Verdict.MALFORMED;
      res.reason = credErr.message;
      return res;
    }
    if (cred.issuer !== key.issuer) {
      res.verdict = Verdict.UNKNOWN_KEY;
      res.reason = `key ${key.kid} is trusted for issuer ${JSON.stringify(key.issuer)}, credential names ${JSON.stringify(cred.issuer)}`;
      return res;
    }
    if (!cred.issuedAt) {
      res.reason = "no iat claim";
      return res;
    }
    if (!cred.id) {
      res.reason = "no id (claim 169 attribute 1)";
      return res;
    }
    const iat = cred.issuedAt * 1000;
    if ((key.notBefore && iat < key.notBefore.getTime()) || (key.notAfter && iat > key.notAfter.getTime())) {
      res.verdict = Verdict.UNKNOWN_KEY;
      res.reason = `key ${key.kid} was not trusted at the issue time ${iso(cred.issuedAt)}`;
      return res;
    }
    if (deny.set.has(cred.id)) {
      res.verdict = Verdict.REVOKED;
      res.reason = `serial ${cred.id} is on the deny list`;
      return res;
    }
    const t = now.getTime();
    if (cred.notBefore && t < cred.notBefore * 1000) {
      res.verdict = Verdict.NOT_YET_VALID;
      res.reason = "valid from " + iso(cred.notBefore);
      return res;
    }
    if (cred.expires && t >= cred.expires * 1000) {
      res.verdict = Verdict.EXPIRED;
      res.reason = "expired " + iso(cred.expires);
      return res;
    }
    res.verdict = Verdict.VALID;
    return res;
  } catch (e) {
    // a last line of defence: no card may break the page
    res.verdict = Verdict.MALFORMED;
    res.reason = `decoder error: ${e && e.message ? e.message : e}`;
    return res;
  }
}
