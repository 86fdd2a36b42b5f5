package network

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCodeConfirmed(t *testing.T) {
	dir := t.TempDir()
	if ok, err := CodeConfirmed(dir, "OA", "office-a", "office-a"); ok || err != nil {
		t.Fatalf("no record: %v, %v; want false, nil", ok, err)
	}
	c := ConfirmedCode{Code: "OA", Host: "office-a", Site: "office-a", Time: time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)}
	if err := RecordCodeConfirmed(dir, c); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code, host, site string
		want             bool
	}{
		{"OA", "office-a", "office-a", true},
		{"OB", "office-a", "office-a", false}, // the code changed
		{"OA", "office-b", "office-a", false},
		{"OA", "office-a", "office-b", false},
	} {
		if ok, err := CodeConfirmed(dir, tc.code, tc.host, tc.site); ok != tc.want || err != nil {
			t.Errorf("CodeConfirmed(%s, %s, %s) = %v, %v; want %v", tc.code, tc.host, tc.site, ok, err, tc.want)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, codeFile), []byte(`{"code":"OA","host":"office-a"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ok, err := CodeConfirmed(dir, "OA", "office-a", "office-a")
	if ok || !errors.Is(err, ErrInvalid) {
		t.Fatalf("record without a site: %v, %v; want an error", ok, err)
	}
	t.Logf("damaged record: %v", err)
}

func FuzzDecodeConfirmedCode(f *testing.F) {
	f.Add([]byte(`{"code":"OA","host":"office-a","site":"office-a","confirmed":"2026-12-03T07:00:00Z"}`))
	f.Add([]byte(`{"code":"OA"}`))
	f.Add([]byte(`{"code":"OA","host":"h","site":"s","confirmed":"2026-12-03T07:00:00Z","x":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeConfirmedCode(data)
		if err == nil && (c.Code == "" || c.Host == "" || c.Site == "") {
			t.Fatalf("accepted an incomplete record %+v", c)
		}
	})
}
