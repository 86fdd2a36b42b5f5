package security

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// The example CWT of the MOSIP Claim 169 QR code specification v1.2.2
// (section 3.2.1): protected header {1: -8} (EdDSA), unprotected kid
// "k-1101", the claims payload (with claim 169 as a byte string holding
// the map, gender as the text "1" and the face as a single biometric map),
// and the signature; the whole wrapped in the CWT tag 61 around tag 18.
// The issuer's public key is not published, so the verdict is unknown-key,
// but every field must decode.
const (
	mosipPayloadHex = "A5016C7777772E6D6F7369702E696F041A6A9160FD051A68B02D7D061A68B02D7D18A95902" +
		"6DA9016A33393138353932343338046C4A616E61726468616E20425308683139383430343138" +
		"0961310A78294E657720486F7573652C204E656172204D6574726F204C696E652C2042656E67" +
		"616C7572752C204B410B756A616E61726468616E406578616D706C652E636F6D0C6D2B393139" +
		"3837363534333231300D62494E183EA3005901E452494646DC0100005745425056503820D001" +
		"0000B00D009D012A400040003E913C9B4925A322A12A1CCAE8B01209690013E295B2585D5EE7" +
		"2395F7FE4A35103D1894A549B58A4FEBE751AE9A3D00CB96F016FC35075F892786B3BCCE1DEF" +
		"FB2B3E55E3598B7D4913C80A237F1D9E51BE7F271CC971D63FDA0C2C3C34B27A574EC1BBD775" +
		"2969C56C8C0000FEFEFFCE44D1E6B7AD2535538B4CC7A3CF016F5B7D160C4E7202269BC041F0" +
		"609EFDF8E687702CDD6BD64E90B2931C9210F095F3C3BEF00A954BFEF4E70C76948B9EEDF20E" +
		"5BE9E885EDBCCEADA8F6FBDB9037490FA2EECAEAA62DE8123028505F9F2EB2F781FDFC9B55FF" +
		"127F12CB657CDC5927866E650426E3032500AF838514711241395BFB130FDA3C29D836527EEB" +
		"82D92121B5A6F3B951D4ECC51AE1566C58266227B0F02CED0050FE35E0E42A33026A2C44C581" +
		"FC65DDD135B6A7E5BC888EF852F6C477CCD817B850B90FA3565E11B61E7FE46F965ABE210D09" +
		"7EF03EAAF028C4FF9DFF5F55AD472464B4920A5958B8C98EF0E0029160F20A8F4D1A02AD3B5A" +
		"D0C43C0B03DC549576CAFB6C3D6C36F1014C57D94F6985F8A328DC7AEF8DF3507041DC440E99" +
		"FE9ACD90CD3EDE4381D5B3D64064BCE4BB8D05113FD901B158698312BDF8A21049288D6006A2" +
		"C944DAE7BC3E2400000001000204"
	mosipSignatureHex = "74E64803A946B30EC091D138433DD6A288CCBB44A8614DFA6094695B998FBCC9" +
		"D8AD3EEB568B3360FA67EEAD58B89F924DB5F58781A80E501E908231EDEE1C05"
)

func mosipExample(t testing.TB, wrap string) []byte {
	t.Helper()
	payload, err := hex.DecodeString(mosipPayloadHex)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := hex.DecodeString(mosipSignatureHex)
	if err != nil {
		t.Fatal(err)
	}
	arr := []any{[]byte{0xa1, 0x01, 0x27}, map[int]any{4: []byte("k-1101")}, payload, sig}
	var v any = arr
	switch wrap {
	case "cwt":
		v = cbor.Tag{Number: tagCWT, Content: cbor.Tag{Number: tagSign1, Content: arr}}
	case "sign1":
		v = cbor.Tag{Number: tagSign1, Content: arr}
	}
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMOSIPSpecExampleDecodes(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	for _, wrap := range []string{"cwt", "sign1", "untagged"} {
		t.Run(wrap, func(t *testing.T) {
			res := f.verifier.VerifyCOSE(mosipExample(t, wrap))
			if res.Verdict != VerdictUnknownKey {
				t.Fatalf("verdict %s (%s), want unknown-key", res.Verdict, res.Reason)
			}
			if res.Kid != hex.EncodeToString([]byte("k-1101")) {
				t.Fatalf("kid %s", res.Kid)
			}
			c := res.Credential
			if c == nil {
				t.Fatal("no credential decoded")
			}
			if c.Issuer != "www.mosip.io" || c.ID != "3918592438" || c.FullName != "Janardhan BS" ||
				c.DateOfBirth != "19840418" || c.Gender != GenderMale || c.Nationality != "IN" {
				t.Fatalf("fields %+v", c)
			}
			if c.Face == nil || len(c.Face.Data) != 484 || c.Face.SubFormat != FaceWEBP || !strings.HasPrefix(string(c.Face.Data), "RIFF") {
				t.Fatalf("face %+v", c.Face)
			}
			if c.IssuedAt.Unix() != 0x68B02D7D || c.Expires.Unix() != 0x6A9160FD {
				t.Fatalf("times %v %v", c.IssuedAt, c.Expires)
			}
		})
	}
}

// TestVerifyForeignKidAndNoKid: a credential signed by a trusted key but
// carrying another kind of kid, or none, still verifies (every trusted key
// is tried).
func TestVerifyForeignKidAndNoKid(t *testing.T) {
	f := newFixture(t, AlgEd25519)
	for name, kid := range map[string][]byte{"foreign kid": []byte("k-1101"), "no kid": nil} {
		t.Run(name, func(t *testing.T) {
			s := &Signer{key: f.signer.key, alg: f.signer.alg, kid: f.signer.kid, signer: f.signer.signer}
			s.headers.Protected = maps(f.signer.headers.Protected)
			if kid == nil {
				delete(s.headers.Protected, int64(4))
			} else {
				s.headers.Protected[int64(4)] = kid
			}
			text, err := s.Sign(testCredential())
			if err != nil {
				t.Fatal(err)
			}
			if r := f.verifier.Verify(text); !r.Valid() {
				t.Fatalf("verdict %s (%s)", r.Verdict, r.Reason)
			}
		})
	}
}
