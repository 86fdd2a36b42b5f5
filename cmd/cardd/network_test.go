package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNetworkUserAndHubConfig(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users.toml")
	var all string
	for _, c := range [][]string{{"office-north", "field-office", "north.nk"}, {"central", "central", "c1.nk"}, {"central", "central", "c2.nk"}} {
		code, out, errOut := runCardd(t, "network", "user", "--site", c[0], "--role", c[1], "--seed", filepath.Join(dir, c[2]))
		if code != exitOK {
			t.Fatalf("network user %v: %d %s", c, code, errOut)
		}
		if !strings.Contains(out, `site = "`+c[0]+`"`) || !strings.Contains(out, `nkey = "U`) {
			t.Fatalf("entry: %s", out)
		}
		if fi, err := os.Stat(filepath.Join(dir, c[2])); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("seed file: %v %v", fi, err)
		}
		all += out
	}
	os.WriteFile(users, []byte(all), 0o600)
	code, out, errOut := runCardd(t, "network", "hub-config", "--users", users)
	if code != exitOK {
		t.Fatalf("hub-config: %d %s", code, errOut)
	}
	for _, w := range []string{"max_payload: 9437184", `"cardd.req.office-north.*"`, `"_INBOX_central.>"`, "authorization {"} {
		if !strings.Contains(out, w) {
			t.Errorf("fragment lacks %q:\n%s", w, out)
		}
	}
	// An existing seed file is never overwritten; a bad role is refused.
	if code, _, _ := runCardd(t, "network", "user", "--site", "x", "--role", "central", "--seed", filepath.Join(dir, "c1.nk")); code == exitOK {
		t.Error("overwrote a seed file")
	}
	if code, _, _ := runCardd(t, "network", "user", "--site", "x", "--role", "boss", "--seed", filepath.Join(dir, "x.nk")); code == exitOK {
		t.Error("accepted role boss")
	}
}
