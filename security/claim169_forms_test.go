package security

import (
	"bytes"
	"compress/zlib"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/fxamacker/cbor/v2"

	"github.com/cardd/cardd/security/base45"
)

// handSign1 builds a COSE_Sign1 over a Claim 169 CWT without the package's
// signer or go-cose: the claims map, the protected header, the
// Sig_structure and the Ed25519 signature are put together here with
// fxamacker/cbor and crypto/ed25519, so the verifier is checked against an
// independent encoder. wrap is "untagged", "sign1" (tag 18) or "cwt"
// (61(18(…))).
func handSign1(t *testing.T, key ed25519.PrivateKey, kid []byte, id, wrap string) []byte {
	t.Helper()
	claims := map[int]any{
		1: testIssuer,
		6: t0.Add(-time.Hour).Unix(),
		4: t0.AddDate(0, 1, 0).Unix(),
		169: map[int]any{
			1: id,
			4: "Hand Made",
		},
	}
	payload, err := cbor.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	protected, err := cbor.Marshal(map[int]any{1: -8, 4: kid})
	if err != nil {
		t.Fatal(err)
	}
	tbs, err := cbor.Marshal([]any{"Signature1", protected, []byte{}, payload})
	if err != nil {
		t.Fatal(err)
	}
	arr := []any{protected, map[int]any{}, payload, ed25519.Sign(key, tbs)}
	var v any = arr
	switch wrap {
	case "sign1":
		v = cbor.Tag{Number: tagSign1, Content: arr}
	case "cwt":
		v = cbor.Tag{Number: tagCWT, Content: cbor.Tag{Number: tagSign1, Content: arr}}
	case "untagged":
	default:
		t.Fatalf("wrap %q", wrap)
	}
	raw, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func compressWith(t *testing.T, method string, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch method {
	case "zlib":
		zw := zlib.NewWriter(&buf)
		zw.Write(raw)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	case "brotli":
		bw := brotli.NewWriterLevel(&buf, brotli.BestCompression)
		bw.Write(raw)
		if err := bw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestVerifyClaim169Forms: the verifier accepts every form the Claim 169
// specification allows — zlib or Brotli, a COSE_Sign1 untagged, tagged 18
// or inside the CWT tag 61 — and a forged signature in any of them is
// still refused.
func TestVerifyClaim169Forms(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	key := f.signer.key.(ed25519.PrivateKey)
	kid := f.signer.KeyID()
	for _, method := range []string{"zlib", "brotli"} {
		for _, wrap := range []string{"untagged", "sign1", "cwt"} {
			t.Run(method+"/"+wrap, func(t *testing.T) {
				raw := handSign1(t, key, kid[:], "HAND-0001", wrap)
				text := base45.Encode(compressWith(t, method, raw))
				res := f.verifier.Verify(text)
				if !res.Valid() {
					t.Fatalf("verdict %s (%s), want valid", res.Verdict, res.Reason)
				}
				if res.Credential.ID != "HAND-0001" || res.Credential.FullName != "Hand Made" {
					t.Fatalf("credential %+v", res.Credential)
				}
				// The same structure with a flipped signature byte.
				bad := bytes.Clone(raw)
				bad[len(bad)-1] ^= 1
				if r := f.verifier.Verify(base45.Encode(compressWith(t, method, bad))); r.Verdict != VerdictBadSignature {
					t.Fatalf("tampered: verdict %s (%s), want bad-signature", r.Verdict, r.Reason)
				}
			})
		}
	}
}

// TestVerifyRefusesBadOuterForms: the tags around a COSE_Sign1 are read
// strictly — the CWT tag around anything but tag 18, another tag, or a
// stream that is neither zlib nor Brotli is malformed.
func TestVerifyRefusesBadOuterForms(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	key := f.signer.key.(ed25519.PrivateKey)
	kid := f.signer.KeyID()
	untagged := handSign1(t, key, kid[:], "HAND-0002", "untagged")
	cwtOnly, err := cbor.Marshal(cbor.Tag{Number: tagCWT, Content: cbor.RawMessage(untagged)})
	if err != nil {
		t.Fatal(err)
	}
	otherTag, err := cbor.Marshal(cbor.Tag{Number: 98, Content: cbor.RawMessage(untagged)})
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string][]byte{"61 without 18": cwtOnly, "tag 98": otherTag} {
		if r := f.verifier.VerifyCOSE(raw); r.Verdict != VerdictMalformed {
			t.Errorf("%s: verdict %s (%s), want malformed", name, r.Verdict, r.Reason)
		}
	}
	for name, z := range map[string][]byte{
		"not compressed": untagged,
		"empty brotli":   compressWith(t, "brotli", nil),
		"garbage":        []byte("\xff\xff\xff\xff not a stream"),
	} {
		if r := f.verifier.Verify(base45.Encode(z)); r.Verdict != VerdictMalformed {
			t.Errorf("%s: verdict %s (%s), want malformed", name, r.Verdict, r.Reason)
		}
	}
}

// TestVerifyBrotliBomb: a Brotli stream that inflates beyond
// MaxDecompressed is refused like a zlib one.
func TestVerifyBrotliBomb(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	z := compressWith(t, "brotli", make([]byte, 4*MaxDecompressed))
	r := f.verifier.Verify(base45.Encode(z))
	if r.Verdict != VerdictMalformed || !bytes.Contains([]byte(r.Reason), []byte("inflates beyond")) {
		t.Fatalf("verdict %s (%s), want malformed: inflates beyond", r.Verdict, r.Reason)
	}
}

// TestSignEmitsTag18: cards carry the COSE_Sign1 tagged 18 and no CWT tag
// (the form the reference implementation writes and reads; the package
// documentation gives the reasons), zlib-compressed.
func TestSignEmitsTag18(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	text := f.sign(t, testCredential())
	z, err := base45.Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	if !isZlib(z) {
		t.Fatalf("payload is not zlib: % x", z[:2])
	}
	raw, err := inflate(z)
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] != 0xc0|tagSign1 || raw[1] != 0x84 {
		t.Fatalf("COSE_Sign1 starts % x, want d2 84 (tag 18, array of 4)", raw[:2])
	}
}
