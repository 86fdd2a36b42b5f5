package station

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// runStation runs st until the test ends.
func runStation(t *testing.T, st *Station) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("station %s: %v", st.cfg.Station.ID, err)
		}
		st.Close()
	})
}

func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 4*time.Minute {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
	t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
}

// TestNetworkOfficeToCentral: a field office prints a temporary card and
// forwards the permanent request; the central host (embedding the hub)
// takes it, prints it in a batch, and the office sees it printed and voids
// the temporary card, whose serial every station then denies.
func TestNetworkOfficeToCentral(t *testing.T) {
	keys := t.TempDir()
	office, err := hub.NewNKeyUser("office-a", network.RoleFieldOffice, filepath.Join(keys, "office-a.nk"))
	if err != nil {
		t.Fatal(err)
	}
	users, err := hub.MarshalUsers([]hub.User{office})
	if err != nil {
		t.Fatal(err)
	}
	usersFile := filepath.Join(keys, "users.toml")
	os.WriteFile(usersFile, users, 0o600)

	// The central host runs the hub.
	ccfg := testConfig(t)
	ccfg.Station.ID, ccfg.Station.Mode = "central-1", config.Mode(jobfile.ModePermanent)
	ccfg.Security.SerialStation = "C1"
	ccfg.Batching.Size = 1
	ccfg.Network = &config.Network{Site: "central", Role: config.RoleCentral, EmbeddedHub: true, HubListen: "127.0.0.1:0",
		HubStore: filepath.Join(t.TempDir(), "hub"), HubUsers: usersFile, Replicas: 1}
	opts := Options{Run: spool.RunOptions{Rescan: 100 * time.Millisecond, Poll: 50 * time.Millisecond}}
	central, err := Open(t.Context(), ccfg, testLogger(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, central)

	ocfg := testConfig(t)
	ocfg.Station.ID = "office-a"
	ocfg.Security.SerialStation = "OA"
	ocfg.Network = &config.Network{Site: "office-a", Role: config.RoleFieldOffice, HubURLs: []string{central.net.hub.ClientURL()},
		NKeySeed: filepath.Join(keys, "office-a.nk"), Replicas: 1, VoidTemporaryOnPermanent: true}
	off, err := Open(t.Context(), ocfg, testLogger(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, off)

	jobs, photos := sampleJobs(t, "temporary", 2)
	j := jobs[0]
	j.Permanent = true
	if _, err := off.Submit(j, photos[0]); err != nil {
		t.Fatal(err)
	}
	// A request for a template the centre does not have fails there and
	// says so to the office, naming the field.
	bad := jobs[1]
	bad.Permanent, bad.PermanentTemplate = true, "no-such-template"
	if _, err := off.Submit(bad, photos[1]); err != nil {
		t.Fatal(err)
	}
	var temp spool.Job
	waitCond(t, "temporary card printed at the office", func() bool {
		temp, err = off.Spool().Job(j.ID)
		return err == nil && temp.State == spool.StateCompleted
	})
	// Its serial: void already when the permanent card's news came
	// while it was printing (the void waits for it, then is at once).
	tempSerial := temp.Serial
	if tempSerial == "" && len(temp.Voided) == 1 {
		tempSerial = temp.Voided[0]
	}
	centralID := network.CentralJobID("office-a", j.ID)
	waitCond(t, "permanent card printed at the centre", func() bool {
		cj, err := central.Spool().Job(centralID)
		return err == nil && cj.State == spool.StateCompleted
	})
	cj, _ := central.Spool().Job(centralID)
	if cj.Mode != jobfile.ModePermanent || cj.Template != DefaultPermanentTemplate || !strings.Contains(cj.Serial, "-C1-") {
		t.Fatalf("central job %+v", cj)
	}
	waitCond(t, "office sees the permanent card printed", func() bool {
		e := off.net.status.Last()[j.ID]
		return e.Kind == string(network.EventPrinted) && e.Serial == cj.Serial && e.Host == "central-1"
	})
	waitCond(t, "temporary card voided at the office", func() bool {
		tj, err := off.Spool().Job(j.ID)
		return err == nil && tj.Serial == "" && len(tj.Voided) == 1 && tj.Voided[0] == tempSerial
	})
	waitCond(t, "office told the bad request failed", func() bool {
		e := off.net.status.Last()[bad.ID]
		return e.Kind == string(network.EventFailed) && e.Field == "permanent_template"
	})
	// Every station's deny list (served at /verify, exported with
	// --export-page) refuses the temporary card now.
	for _, st := range []*Station{off, central} {
		waitCond(t, st.cfg.Station.ID+" denies the temporary card", func() bool {
			d, err := security.LoadDenyList(st.DenyListPath())
			return err == nil && d.Contains(tempSerial)
		})
	}
	// The office's status log reads without the daemon (cardd jobs).
	all, err := network.ReadStatus(network.StateDir(ocfg.Paths.State))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range all[j.ID] {
		kinds = append(kinds, e.Kind)
	}
	// Queued first and printed after received; the hub's "received" may be
	// logged before the office's own "forwarded" (the central host takes a
	// request as soon as it is on the hub, and the office logs forwarded
	// when the hub's acknowledgement reaches it).
	pos := map[string]int{}
	for i, k := range kinds {
		if _, seen := pos[k]; !seen {
			pos[k] = i
		}
	}
	got := strings.Join(kinds, ",")
	for _, k := range []string{"queued", "forwarded", "received", "printed"} {
		if _, ok := pos[k]; !ok {
			t.Errorf("office status of %s: %s, no %q", j.ID, got, k)
		}
	}
	if pos["queued"] != 0 || pos["printed"] < pos["received"] || pos["printed"] < pos["forwarded"] {
		t.Errorf("office status of %s out of order: %s", j.ID, got)
	}
	// The central host's signed checkpoint (signed at the batch close)
	// reached the hub and opens with its audit key.
	waitCond(t, "central's signed checkpoint on the hub", func() bool {
		cp, err := network.LatestCheckpoint(t.Context(), central.net.conn, "central-1")
		if err != nil || cp.Note == "" {
			return false
		}
		v, err := audit.LoadVerifier(ccfg.Security.AuditKey + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		signed, err := audit.ParseCheckpoint([]byte(cp.Note), v)
		if err != nil {
			t.Fatalf("signed checkpoint from the hub: %v", err)
		}
		_, err = audit.VerifyAgainst(ccfg.Security.AuditLog, signed)
		return err == nil
	})
	// The office's audit log reached the hub as a checkpoint.
	waitCond(t, "office checkpoint on the hub", func() bool {
		cp, err := network.LatestCheckpoint(t.Context(), central.net.conn, "office-a")
		if err != nil {
			return false
		}
		_, err = network.VerifyLog(ocfg.Security.AuditLog, cp)
		return err == nil && cp.Records > 0
	})
}

// TestNetworkStationCodeInUse: a second central host with the first one's
// serial station code stops with an error naming the holder.
func TestNetworkStationCodeInUse(t *testing.T) {
	ccfg := testConfig(t)
	ccfg.Station.ID, ccfg.Station.Mode = "central-1", config.Mode(jobfile.ModePermanent)
	ccfg.Security.SerialStation = "C1"
	keys := t.TempDir()
	c2, err := hub.NewNKeyUser("central", network.RoleCentral, filepath.Join(keys, "c2.nk"))
	if err != nil {
		t.Fatal(err)
	}
	users, _ := hub.MarshalUsers([]hub.User{c2})
	os.WriteFile(filepath.Join(keys, "users.toml"), users, 0o600)
	ccfg.Network = &config.Network{Site: "central", Role: config.RoleCentral, EmbeddedHub: true, HubListen: "127.0.0.1:0",
		HubStore: filepath.Join(t.TempDir(), "hub"), HubUsers: filepath.Join(keys, "users.toml"), Replicas: 1}
	first, err := Open(t.Context(), ccfg, testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, first)
	waitCond(t, "first host registered", func() bool {
		hs, err := network.StationCodeHolders(t.Context(), first.net.conn, "C1")
		return err == nil && len(hs) == 1 && hs[0].Host == "central-1"
	})
	cfg2 := testConfig(t)
	cfg2.Station.ID, cfg2.Station.Mode = "central-2", config.Mode(jobfile.ModePermanent)
	cfg2.Security.SerialStation = "C1"
	cfg2.Network = &config.Network{Site: "central", Role: config.RoleCentral, HubURLs: []string{first.net.hub.ClientURL()},
		NKeySeed: filepath.Join(keys, "c2.nk"), Replicas: 1}
	second, err := Open(t.Context(), cfg2, testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	err = second.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "central-1") || !strings.Contains(err.Error(), "C1") {
		t.Fatalf("second host with the same code: %v", err)
	}
}

// TestNetworkWitnessedLogCut: a field office whose audit log lost records
// the hub witnessed notices at start and sends no checkpoint that would
// hide it.
func TestNetworkWitnessedLogCut(t *testing.T) {
	ctx := t.Context()
	keys := t.TempDir()
	office, err := hub.NewNKeyUser("office-a", network.RoleFieldOffice, filepath.Join(keys, "office-a.nk"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.Start(ctx, hub.Options{StoreDir: t.TempDir(), Users: []hub.User{office}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ocfg := testConfig(t)
	ocfg.Station.ID = "office-a"
	ocfg.Network = &config.Network{Site: "office-a", Role: config.RoleFieldOffice, HubURLs: []string{h.ClientURL()},
		NKeySeed: filepath.Join(keys, "office-a.nk"), Replicas: 1}
	c, err := network.Connect(ctx, network.ConnOptions{URLs: []string{h.ClientURL()}, Site: "office-a", Role: network.RoleFieldOffice, NKeySeedFile: filepath.Join(keys, "office-a.nk")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The hub witnessed 3 records of a log that now holds 2.
	log := ocfg.Security.AuditLog
	if err := os.MkdirAll(filepath.Dir(log), 0o700); err != nil {
		t.Fatal(err)
	}
	al, err := audit.Open(log, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"S-1", "S-2", "S-3"} {
		if _, err := al.Voided(ctx, s, "x"); err != nil {
			t.Fatal(err)
		}
	}
	al.Close()
	cp, err := network.LogCheckpoint(log, "office-a", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	subj, data, _ := network.EncodeCheckpoint(cp)
	if _, err := c.JS.Publish(ctx, subj, data); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(log)
	lines := strings.SplitAfter(string(raw), "\n")
	os.WriteFile(log, []byte(strings.Join(lines[:2], "")), 0o600)

	st, err := Open(ctx, ocfg, testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, st)
	waitCond(t, "the station notices the cut log", func() bool { return st.net.witness.Load() != nil })
	if err := *st.net.witness.Load(); !errors.Is(err, network.ErrWitness) {
		t.Fatalf("witness error: %v", err)
	}
	got, err := network.LatestCheckpoint(ctx, c, "office-a")
	if err != nil || got.Records != 3 {
		t.Fatalf("the hub's checkpoint changed: %+v %v", got, err)
	}
}
