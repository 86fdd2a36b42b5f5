package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
	"github.com/cardd/cardd/spool"
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

// TestBatchReportHub: "cardd batch report --hub" prints the facility's
// report from the outcome events on a real embedded hub with two central
// hosts' events, as text and JSON, with a central host's credentials; an
// office's configuration is refused with the reason; a serial printed
// twice fails the report.
func TestBatchReportHub(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "central.nk")
	central, err := hub.NewNKeyUser("central", network.RoleCentral, seed)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	h, err := hub.Start(ctx, hub.Options{StoreDir: filepath.Join(dir, "hub"), Users: []hub.User{central}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c, err := network.Connect(ctx, network.ConnOptions{URLs: []string{h.ClientURL()}, Site: "central", Role: network.RoleCentral, NKeySeedFile: seed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := network.EnsureStreams(ctx, c.JS, network.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]string{{"C1", "central-1"}, {"C2", "central-2"}} {
		if err := network.RegisterStationCode(ctx, c, r[0], r[1], time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	publish := func(evs ...network.Event) {
		t.Helper()
		for i, e := range evs {
			e.Time = t0.Add(time.Duration(i) * time.Second)
			data, err := network.EncodeEvent(&e)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.JS.Publish(ctx, network.EventSubject(e.Office, e.Job), data); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(
		network.Event{Office: "north", Job: "N-1", Kind: network.EventReceived, Host: "central-1"},
		network.Event{Office: "north", Job: "N-1", Kind: network.EventSpoiled, Host: "central-1", Serial: "P-C1-0000001-1"},
		network.Event{Office: "north", Job: "N-1", Kind: network.EventPrinted, Host: "central-1", Serial: "P-C1-0000002-2"},
		network.Event{Office: "north", Job: "N-2", Kind: network.EventReceived, Host: "central-2"},
		network.Event{Office: "north", Job: "N-2", Kind: network.EventUnknown, Host: "central-2", Serial: "P-C2-0000001-3"},
		network.Event{Office: "south", Job: "S-1", Kind: network.EventReceived, Host: "central-2"},
		network.Event{Office: "south", Job: "S-1", Kind: network.EventPrinted, Host: "central-2", Serial: "P-C2-0000002-4"},
		network.Event{Office: "south", Job: "S-2", Kind: network.EventFailed, Host: "central-1", Field: "permanent_template", Reason: "no such template"},
		network.Event{Office: "south", Job: "S-3", Kind: network.EventReceived, Host: "central-1"},
	)
	cfgPath := writeFile(t, dir, "central.toml", fmt.Sprintf(`
[station]
id = "central-1"
mode = "permanent"
[paths]
spool = %q
state = %q
[security]
serial_station = "C1"
[[printers]]
name = "p1"
driver = "evolis"
connection = "emulator"
[network]
site = "central"
role = "central"
hub_urls = [%q]
nkey_seed = %q
`, filepath.Join(dir, "spool"), filepath.Join(dir, "state"), h.ClientURL(), seed))

	// Both hosts' batch summaries (as their publishers keep them).
	kv, err := c.JS.KeyValue(ctx, network.BucketBatches)
	if err != nil {
		t.Fatal(err)
	}
	putSummary := func(host, code string, r spool.BatchReport) {
		t.Helper()
		data, err := network.EncodeBatchSummary(network.SummariseBatch(host, "central", code, &r, time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(ctx, network.BatchSummaryKey(host, r.Batch.ID), data); err != nil {
			t.Fatal(err)
		}
		beat, _ := json.Marshal(network.HostBeat{Host: host, Site: "central", Code: code, Batches: 1, Updated: time.Now()})
		if _, err := kv.Put(ctx, network.HostBeatKey(host), beat); err != nil {
			t.Fatal(err)
		}
	}
	done := spool.Batch{ID: "B000001", State: spool.BatchDone, Opened: t0, Closed: t0, Done: t0}
	putSummary("central-1", "C1", spool.BatchReport{Batch: done, Jobs: 1, Printed: 1, Spoiled: 1, BlanksExpected: 1, BlanksUsed: 2})
	putSummary("central-2", "C2", spool.BatchReport{Batch: done, Jobs: 40, Printed: 40, BlanksExpected: 40, BlanksUsed: 40})

	code, out, errOut := runCardd(t, "batch", "report", "--hub", "--config", cfgPath)
	if code != exitOK {
		t.Fatalf("batch report --hub: exit %d: %s\n%s", code, errOut, out)
	}
	t.Logf("report:\n%s", out)
	for _, w := range []string{
		"2 batch(es) at 2 host(s), 0 not done",
		"jobs 41: blanks expected 41, used 42; printed 41 (reprints 0), spoiled 1",
		"discrepancies: none",
		"requests 5 from 2 offices: printed 2, outcome unknown 1, failed 1, voided 0, held 0, in progress 1",
		"cards in these events at 2 central hosts: printed 2 (reprints 0), spoiled 1, voided 0, blanks used 3",
		"serials: none printed twice",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q", w)
		}
	}
	for _, re := range []string{`central-1\s+C1\s+2\s+1\s+0\s+1\s+0\s+0\s+1\s+0\s+2`, `central-2\s+C2\s+2\s+1\s+0\s+0\s+0\s+1\s+0\s+0\s+1`, `north\s+2\s+1\s+1\s+0`, `south\s+3\s+1\s+0\s+1\s+0\s+0\s+1`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("report lacks a line matching %s", re)
		}
	}
	code, out, _ = runCardd(t, "batch", "report", "--config", cfgPath, "--json", "--hub")
	var rep network.FacilityReport
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || rep.Requests.Total != 5 || len(rep.Hosts) != 2 || len(rep.Codes) != 2 ||
		rep.BatchTotals.Printed != 41 || len(rep.Batches) != 2 || len(rep.BatchHosts) != 2 {
		t.Fatalf("--json: exit %d: %s", code, out)
	}
	// One batch across the hosts.
	code, out, _ = runCardd(t, "batch", "report", "--hub", "--config", cfgPath, "B000001")
	if code != exitOK || !strings.Contains(out, "(batch B000001)") || strings.Contains(out, "outcome events") ||
		!regexp.MustCompile(`central-2\s+B000001\s+done\s+-\s+40\s+40\s+40`).MatchString(out) {
		t.Fatalf("batch report --hub B000001: exit %d:\n%s", code, out)
	}
	// A malformed summary on the hub: flagged by key and field, the
	// report goes on, and fails.
	if _, err := kv.Put(ctx, network.BatchSummaryKey("central-2", "B000002"), []byte(`{"host":"central-2","batch":"B000002","state":"open","counts":{"printed":-4}}`)); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCardd(t, "batch", "report", "--hub", "--config", cfgPath)
	if code != exitFailure || !strings.Contains(out, "batch.central-2.B000002") || !strings.Contains(out, "field ") || !strings.Contains(out, "jobs 41:") {
		t.Fatalf("malformed summary: exit %d:\n%s", code, out)
	}
	if err := kv.Delete(ctx, network.BatchSummaryKey("central-2", "B000002")); err != nil {
		t.Fatal(err)
	}

	// An office's configuration cannot read the facility's events.
	office := writeFile(t, dir, "office.toml", strings.NewReplacer(`role = "central"`, `role = "field-office"`, `site = "central"`, `site = "north"`, `mode = "permanent"`, `mode = "temporary"`).Replace(mustRead(t, cfgPath)))
	code, _, errOut = runCardd(t, "batch", "report", "--hub", "--config", office)
	if code != exitConfig || !strings.Contains(errOut, "needs a central host's credentials") {
		t.Fatalf("office: exit %d: %s", code, errOut)
	}
	// A serial printed for two requests fails the report.
	publish(network.Event{Office: "south", Job: "S-3", Kind: network.EventPrinted, Host: "central-1", Serial: "P-C2-0000002-4"})
	code, out, _ = runCardd(t, "batch", "report", "--hub", "--config", cfgPath)
	if code != exitFailure || !strings.Contains(out, "SERIALS PRINTED TWICE: [P-C2-0000002-4]") {
		t.Fatalf("duplicate serial: exit %d: %s", code, out)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
