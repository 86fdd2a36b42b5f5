package web

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cardd/cardd/security"
)

// FuzzPageLists checks that no issuer name or serial in the trust and deny
// lists (which come from files a station is handed) can break out of the
// page's JSON script elements: the page keeps exactly its three scripts,
// and the lists read back from it equal the lists put in.
func FuzzPageLists(f *testing.F) {
	key, err := security.GenerateKey(security.AlgEd25519)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][2]string{
		{"https://id.example.org", "XK-1"},
		{"</script><script>alert(1)</script>", "</SCRIPT >"},
		{"<!--", "<script"},
		{"\u2028\u2029", "&lt;"},
		{`"}]}`, `\u003c/script`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, issuer, serial string) {
		if issuer == "" || serial == "" || !utf8.ValidString(issuer) || !utf8.ValidString(serial) {
			return // refused by the list parsers before they reach a page
		}
		e, err := security.NewTrustEntry(issuer, key.Public(), time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		trust, err := security.NewTrustList(e)
		if err != nil {
			t.Fatal(err)
		}
		deny := security.NewDenyList(time.Time{}, []string{serial})
		page, err := Page(PageOptions{Trust: trust, Deny: deny, Title: issuer})
		if err != nil {
			t.Fatal(err)
		}
		// Everything but the bundle (whose text is fixed and checked at
		// build time) must hold the three script openings and the bundle
		// must come third and whole.
		s := string(page)
		at := strings.Index(s, string(bundleJS))
		if at < 0 {
			t.Fatal("bundle missing from the page")
		}
		head, tail := strings.ToLower(s[:at]), strings.ToLower(s[at+len(bundleJS):])
		if n := strings.Count(head, "<script"); n != 3 || strings.Contains(tail, "<script") || !strings.HasPrefix(tail, "</script>") {
			t.Fatalf("page has %d script openings before the bundle, want 3", n)
		}
		scripts := scriptRE.FindAllStringSubmatch(s[:at], -1)
		if len(scripts) != 2 {
			t.Fatalf("page has %d JSON script elements, want 2", len(scripts))
		}
		var gotTrust struct {
			Keys []security.TrustEntry `json:"keys"`
		}
		if err := json.Unmarshal([]byte(scripts[0][2]), &gotTrust); err != nil || len(gotTrust.Keys) != 1 || gotTrust.Keys[0].Issuer != issuer {
			t.Fatalf("trust list read back %+v, %v; want issuer %q", gotTrust, err, issuer)
		}
		var gotDeny struct {
			Serials []string `json:"serials"`
		}
		if err := json.Unmarshal([]byte(scripts[1][2]), &gotDeny); err != nil || len(gotDeny.Serials) != 1 || gotDeny.Serials[0] != serial {
			t.Fatalf("deny list read back %+v, %v; want %q", gotDeny, err, serial)
		}
	})
}
