// Unit tests of the verifier page's decoders and verification, run with
// "node --test web/test" (Node.js 20+, no npm packages needed); the Go test
// TestNodeUnitTests runs them in "go test ./web".

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeBase45, Base45Error } from "../src/base45.js";
import { decodeCBOR, CBORError, sigStructure, Tagged } from "../src/cbor.js";
import { fieldsOf, inflateZlib, loadDenyList, loadTrustList, verifyText } from "../src/verify.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (...b) => Uint8Array.from(b);

test("base45 decodes the RFC 9285 examples", () => {
  for (const [text, want] of [["BB8", "AB"], ["%69 VD92EX0", "Hello!!"], ["UJCLQE7W581", "base-45"], ["QED8WEX0", "ietf!"], ["", ""]]) {
    assert.equal(dec.decode(decodeBase45(text)), want, text);
  }
});

test("base45 refuses invalid text", () => {
  for (const text of ["GGW", "ZZZ", "A", "ABCD", "bb8", "BB8=", "::"]) {
    assert.throws(() => decodeBase45(text), Base45Error, text);
  }
});

test("cbor decodes the shapes a credential uses", () => {
  const m = decodeCBOR(bytes(0xa3, 0x01, 0x63, 0x61, 0x62, 0x63, 0x20, 0x42, 0x01, 0x02, 0x19, 0x01, 0x00, 0x3a, 0x00, 0x01, 0x00, 0x00));
  assert.equal(m.get(1), "abc");
  assert.deepEqual(m.get(-1), bytes(1, 2));
  assert.equal(m.get(256), -65537);
  const t = decodeCBOR(bytes(0xd2, 0x82, 0xf5, 0xf6), { allowTags: true });
  assert.ok(t instanceof Tagged);
  assert.equal(t.tag, 18);
  assert.deepEqual(t.value, [true, null]);
  assert.equal(decodeCBOR(bytes(0x1b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), Number.MAX_SAFE_INTEGER);
  assert.equal(decodeCBOR(bytes(0xf9, 0x3c, 0x00)), 1);
});

test("cbor refuses what a credential never needs", () => {
  const cases = {
    "indefinite array": bytes(0x9f, 0xff),
    "indefinite bytes": bytes(0x5f, 0xff),
    "duplicate key": bytes(0xa2, 0x01, 0x01, 0x01, 0x02),
    "tag where not allowed": bytes(0xc1, 0x00),
    "integer beyond 2^53": bytes(0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0),
    "trailing byte": bytes(0x01, 0x00),
    "truncated string": bytes(0x45, 0x01),
    "huge length": bytes(0x5a, 0xff, 0xff, 0xff, 0xff),
    "huge array": bytes(0x9a, 0xff, 0xff, 0xff, 0xff),
    "too deep": new Uint8Array(20).fill(0x81),
    "reserved info": bytes(0x1c),
    "simple value": bytes(0xf0),
    "bad utf-8": bytes(0x62, 0xc3, 0x28),
    "array map key": bytes(0xa1, 0x80, 0x00),
    empty: bytes(),
  };
  for (const [name, b] of Object.entries(cases)) {
    assert.throws(() => decodeCBOR(b), CBORError, name);
  }
});

test("cbor decoding of random bytes never throws anything but CBORError", () => {
  let seed = 169;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 20000; i++) {
    const b = Uint8Array.from({ length: 1 + (rnd() % 24) }, rnd);
    try {
      decodeCBOR(b, { allowTags: true });
    } catch (e) {
      assert.ok(e instanceof CBORError, `${e} for ${Buffer.from(b).toString("hex")}`);
    }
  }
});

test("the Sig_structure is the COSE Signature1 array", () => {
  const s = sigStructure(bytes(0xa1, 0x01, 0x27), bytes(), bytes(0x01, 0x02));
  assert.deepEqual(decodeCBOR(s), ["Signature1", bytes(0xa1, 0x01, 0x27), bytes(), bytes(0x01, 0x02)]);
  assert.equal(Buffer.from(s).toString("hex"), "846a5369676e61747572653143a101274042" + "0102");
  const long = new Uint8Array(300);
  assert.deepEqual(decodeCBOR(sigStructure(bytes(), bytes(), long))[3], long);
});

test("zlib is inflated with a size limit", async () => {
  const { deflateSync } = await import("node:zlib");
  assert.deepEqual(await inflateZlib(new Uint8Array(deflateSync(Buffer.from("hello")))), enc.encode("hello"));
  await assert.rejects(inflateZlib(new Uint8Array(deflateSync(Buffer.alloc(20000))), 16384), /beyond 16384/);
  await assert.rejects(inflateZlib(bytes(0x1b, 0x00)), /not zlib/);
  await assert.rejects(inflateZlib(bytes(0x78, 0x9c, 0x01, 0x02)), /zlib/);
});

const vectors = JSON.parse(readFileSync(new URL("../testdata/vectors.json", import.meta.url)));

// nodeBrotli is Node's own Brotli decoder with the same size limit, for
// verifyText here; the page bundles src/brotli.js (tested below when npm
// has installed its package, and in Chromium by the Go browser tests).
const { brotliDecompressSync } = await import("node:zlib");
const nodeBrotli = (z, limit) => {
  try {
    return new Uint8Array(brotliDecompressSync(z, { maxOutputLength: limit }));
  } catch (e) {
    if (e instanceof RangeError) throw new Error(`brotli: inflates beyond ${limit} bytes`);
    throw new Error(`brotli: ${e.message}`);
  }
};

test("every vector gets the verdict and fields package security gives it", async () => {
  const trust = await loadTrustList(vectors.trust);
  assert.deepEqual(trust.problems, []);
  const deny = loadDenyList(vectors.deny);
  for (const c of vectors.cases) {
    const res = await verifyText(c.text, trust, deny, new Date(vectors.now), nodeBrotli);
    assert.equal(res.verdict, c.verdict, `${c.name}: ${res.reason}`);
    assert.deepEqual(res.fields, c.fields || [], c.name);
  }
});

test("without a Brotli decoder a Brotli payload is malformed, not guessed", async () => {
  const trust = await loadTrustList(vectors.trust);
  const c = vectors.cases.find((v) => v.name === "brotli-valid");
  const res = await verifyText(c.text, trust, loadDenyList(vectors.deny), new Date(vectors.now));
  assert.equal(res.verdict, "malformed");
  assert.match(res.reason, /no Brotli decoder/);
});

test("the page's Brotli decoder (npm brotli) reads every Brotli vector as Go does", async (t) => {
  let inflateBrotli;
  try {
    ({ inflateBrotli } = await import("../src/brotli.js"));
  } catch (e) {
    t.skip(`npm package brotli not installed (web/build.sh installs it): ${e.message}`);
    return;
  }
  const trust = await loadTrustList(vectors.trust);
  const deny = loadDenyList(vectors.deny);
  const brotliCases = vectors.cases.filter((v) => v.name.startsWith("brotli-"));
  assert.ok(brotliCases.length >= 5);
  for (const c of brotliCases) {
    const res = await verifyText(c.text, trust, deny, new Date(vectors.now), inflateBrotli);
    assert.equal(res.verdict, c.verdict, `${c.name}: ${res.reason}`);
    assert.deepEqual(res.fields, c.fields || [], c.name);
  }
  const bomb = vectors.cases.find((v) => v.name === "brotli-bomb");
  const res = await verifyText(bomb.text, trust, deny, new Date(vectors.now), inflateBrotli);
  assert.match(res.reason, /inflates beyond 16384/);
});

test("trust list entries that cannot be used are reported, not trusted", async () => {
  const good = vectors.trust.keys[0];
  const trust = await loadTrustList({
    keys: [
      { ...good, kid: "0000000000000000" },
      { ...good, public_key: "nope" },
      { ...good, issuer: "" },
      good,
    ],
  });
  assert.equal(trust.size, 1);
  assert.equal(trust.problems.length, 3);
  assert.match(trust.problems[0], /kid does not match/);
});

test("trust list problems are shown with unsafe characters escaped", async () => {
  const good = vectors.trust.keys[0];
  const forged = "\nverdict: valid\x1b[2J\u202eX\u2066";
  const trust = await loadTrustList({
    keys: [
      { ...good, kid: "00" + forged },
      { ...good, issuer: "https://x" + forged, public_key: "nope" },
      { ...good, not_before: "2026" + forged },
    ],
  });
  assert.equal(trust.size, 0);
  assert.equal(trust.problems.length, 3);
  for (const p of trust.problems) {
    assert.doesNotMatch(p, /[\n\x1b\u202e\u2066]/u, p);
  }
  assert.match(trust.problems[0], /kid 00\\nverdict: valid\\x1b\[2J\\u\{202e\}X\\u\{2066\}\)/);
});

test("a denied serial is revoked, the fields are the Go field order", async () => {
  const c = vectors.cases.find((v) => v.name === "valid-ed25519");
  const trust = await loadTrustList(vectors.trust);
  const res = await verifyText(c.text, trust, loadDenyList({ serials: ["V-1"] }), new Date(vectors.now));
  assert.equal(res.verdict, "revoked");
  assert.deepEqual(fieldsOf(res.credential).map(([l]) => l), c.fields.map(([l]) => l));
});
