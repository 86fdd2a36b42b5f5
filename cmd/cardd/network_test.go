package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
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

// TestAuditVerifyHub: "cardd audit verify --hub" compares the station's log
// with the checkpoint the hub holds, and fails on a truncated log.
func TestAuditVerifyHub(t *testing.T) {
	dir := t.TempDir()
	office, err := hub.NewNKeyUser("office-a", network.RoleFieldOffice, filepath.Join(dir, "office-a.nk"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	h, err := hub.Start(ctx, hub.Options{StoreDir: filepath.Join(dir, "hub"), Users: []hub.User{office}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	logPath := writeAuditLog(t)
	cfgPath := securityConfig(t, "keys/trust.json", "deny.json", logPath)
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "[network]\nsite = \"office-a\"\nrole = \"field-office\"\nhub_urls = [%q]\nnkey_seed = %q\n", h.ClientURL(), filepath.Join(dir, "office-a.nk"))
	f.Close()

	// No checkpoint on the hub yet.
	if code, _, errOut := runCardd(t, "audit", "verify", "--config", cfgPath, "--hub"); code == exitOK || !strings.Contains(errOut, "no checkpoint") {
		t.Fatalf("without a checkpoint: exit %d: %s", code, errOut)
	}
	c, err := network.Connect(ctx, network.ConnOptions{URLs: []string{h.ClientURL()}, Site: "office-a", Role: network.RoleFieldOffice, NKeySeedFile: filepath.Join(dir, "office-a.nk")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cp, err := network.LogCheckpoint(logPath, "office-a", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	subj, data, err := network.EncodeCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.JS.Publish(ctx, subj, data); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCardd(t, "audit", "verify", "--config", cfgPath, "--hub")
	if code != exitOK || !strings.Contains(out, "matches the hub's checkpoint of office-a: 5 records") {
		t.Fatalf("exit %d out %q err %q", code, out, errOut)
	}
	// Cut the log's tail: still a valid chain, but shorter than witnessed.
	raw, _ := os.ReadFile(logPath)
	lines := strings.SplitAfter(string(raw), "\n")
	os.WriteFile(logPath, []byte(strings.Join(lines[:3], "")), 0o600)
	code, out, _ = runCardd(t, "audit", "verify", "--config", cfgPath, "--hub")
	if code != exitFailure || !strings.Contains(out, "DOES NOT MATCH THE HUB") || !strings.Contains(out, "truncated") {
		t.Fatalf("truncated log: exit %d out %q", code, out)
	}
}

// TestJobsPermanentStatus: at a field office, "cardd submit --permanent"
// asks for the permanent card, and "cardd jobs list|show" show its status
// from the office's network status log.
func TestJobsPermanentStatus(t *testing.T) {
	root, s, _ := testDaemon(t)
	state := filepath.Join(t.TempDir(), "state")
	cfgPath := writeFile(t, t.TempDir(), "office.toml", fmt.Sprintf(`
[station]
id = "office-a"
[paths]
spool = %q
state = %q
journal = %q
[[printers]]
name = "emu"
driver = "evolis"
connection = "emulator"
[security]
serial_station = "OA"
[network]
role = "field-office"
hub_urls = ["nats://127.0.0.1:4222"]
`, root, state, filepath.Join(root, "journal")))
	photo := pngFile(t, t.TempDir(), "p.png")
	code, out, errOut := runCardd(t, "submit", "--config", cfgPath, "--id", "P-1", "--template", "temporary", "--photo", photo, "--permanent", "--permanent-template", "permanent")
	if code != exitOK {
		t.Fatalf("submit --permanent: %d %q %q", code, out, errOut)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "incoming"))
	raw, _ := os.ReadFile(filepath.Join(root, "incoming", ents[0].Name(), "job.toml"))
	if !strings.Contains(string(raw), "permanent = true") || !strings.Contains(string(raw), `permanent_template = "permanent"`) {
		t.Fatalf("job file:\n%s", raw)
	}
	if code, _, _ := runCardd(t, "submit", "--config", cfgPath, "--id", "P-2", "--template", "temporary", "--photo", photo, "--permanent-template", "permanent"); code != exitUsage {
		t.Errorf("--permanent-template without --permanent: exit %d", code)
	}
	process(t, s)
	st, err := network.OpenStatusStore(network.StateDir(state))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, e := range []network.StatusEntry{
		{Job: "P-1", Kind: network.StatusQueued, Time: now},
		{Job: "P-1", Kind: string(network.EventReceived), Host: "central-1", Time: now, Event: "e1"},
		{Job: "P-1", Kind: network.StatusForwarded, Time: now},
		{Job: "P-1", Kind: string(network.EventPrinted), Host: "central-1", Serial: "CARD-C1-0000001-7", Time: now, Event: "e2"},
	} {
		if err := st.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	code, out, _ = runCardd(t, "jobs", "list", "--config", cfgPath)
	if code != exitOK || !strings.Contains(out, "PERMANENT CARD") || !strings.Contains(out, "printed CARD-C1-0000001-7 at central-1") {
		t.Fatalf("jobs list: %d\n%s", code, out)
	}
	code, out, _ = runCardd(t, "jobs", "show", "--config", cfgPath, "P-1")
	if code != exitOK || !strings.Contains(out, "permanent card: printed CARD-C1-0000001-7") || !strings.Contains(out, "forwarded") {
		t.Fatalf("jobs show: %d\n%s", code, out)
	}
	code, out, _ = runCardd(t, "jobs", "list", "--config", cfgPath, "--json")
	if code != exitOK || !strings.Contains(out, `"network": [`) {
		t.Fatalf("jobs list --json: %d\n%s", code, out)
	}
}
