package station

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// netTestOpts are the quick scheduler intervals of the network tests.
var netTestOpts = Options{Run: spool.RunOptions{Rescan: 100 * time.Millisecond, Poll: 50 * time.Millisecond}, BatchSummaries: 100 * time.Millisecond}

// centralWithHub runs a central host (batches of one, serial station
// code C1) embedding the hub, which lets office-a, office-b and more
// central hosts in by NKey; it returns the host and office-a's seed file
// (office-b.nk and central.nk are beside it).
func centralWithHub(t *testing.T) (*Station, string) {
	t.Helper()
	keys := t.TempDir()
	var list []hub.User
	for _, o := range []string{"office-a", "office-b", "central"} {
		role := network.RoleFieldOffice
		if o == "central" {
			role = network.RoleCentral
		}
		u, err := hub.NewNKeyUser(o, role, filepath.Join(keys, o+".nk"))
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, u)
	}
	seed := filepath.Join(keys, "office-a.nk")
	users, err := hub.MarshalUsers(list)
	if err != nil {
		t.Fatal(err)
	}
	usersFile := filepath.Join(keys, "users.toml")
	if err := os.WriteFile(usersFile, users, 0o600); err != nil {
		t.Fatal(err)
	}
	ccfg := testConfig(t)
	ccfg.Station.ID, ccfg.Station.Mode = "central-1", config.Mode(jobfile.ModePermanent)
	ccfg.Security.SerialStation = "C1"
	ccfg.Batching.Size = 1
	ccfg.Network = &config.Network{Site: "central", Role: config.RoleCentral, EmbeddedHub: true, HubListen: "127.0.0.1:0",
		HubStore: filepath.Join(t.TempDir(), "hub"), HubUsers: usersFile, Replicas: 1}
	central, err := Open(t.Context(), ccfg, testLogger(t), netTestOpts)
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, central)
	return central, seed
}

// officeConfig is office-a's configuration (voiding the temporary card
// once the permanent card printed).
func officeConfig(t *testing.T, central *Station, seed string) *config.Config {
	cfg := testConfig(t)
	cfg.Station.ID = "office-a"
	cfg.Security.SerialStation = "OA"
	cfg.Network = &config.Network{Site: "office-a", Role: config.RoleFieldOffice, HubURLs: []string{central.net.hub.ClientURL()},
		NKeySeed: seed, Replicas: 1, VoidTemporaryOnPermanent: true}
	return cfg
}

// TestNetworkVoidWaitsForTemporaryCard: the permanent card's "printed"
// reaches the office while the temporary card has not printed yet — its
// printer stopped (cover open), then, after a restart of the office, a
// card still in the printer. The void is kept (across the restart) and
// carried out once the temporary card printed: its serial is void and
// denied, and nothing stays pending.
func TestNetworkVoidWaitsForTemporaryCard(t *testing.T) {
	central, seed := centralWithHub(t)
	jobs, photos := sampleJobs(t, "temporary", 2)
	stopped, printing := jobs[0], jobs[1]
	stopped.Permanent, printing.Permanent = true, true

	// First run: the office's printer has its cover open, so the
	// temporary card waits (stopped) while the permanent one prints.
	ocfg := officeConfig(t, central, seed)
	ocfg.Printers = ocfg.Printers[:1]
	ocfg.Printers[0].Emulator.Faults = []config.Fault{{Kind: config.FaultCoverOpen}}
	off, err := Open(t.Context(), ocfg, testLogger(t), netTestOpts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- off.Run(ctx) }()
	if _, err := off.Submit(stopped, photos[0]); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "office sees the permanent card printed", func() bool {
		return off.net.status.Last()[stopped.ID].Kind == string(network.EventPrinted)
	})
	waitCond(t, "the void waits for the temporary card", func() bool { return off.net.pendingVoids.Has(stopped.ID) })
	if j, err := off.Spool().Job(stopped.ID); err != nil || j.State == spool.StateCompleted || j.Serial != "" && len(j.Voided) > 0 {
		t.Fatalf("temporary card before its printer works: %+v, %v", j, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("office run: %v", err)
	}
	off.Close()

	// Second run: the cover is closed; one more job whose temporary card
	// is in the printer when its permanent card's news comes.
	ocfg.Printers[0].Emulator.Faults = nil
	release := make(chan struct{})
	var once sync.Once
	opts := netTestOpts
	opts.OnPrint = func(_, id string) {
		if id == printing.ID {
			<-release
		}
	}
	off, err = Open(t.Context(), ocfg, testLogger(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, off)
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	voided := func(id string) func() bool {
		return func() bool {
			j, err := off.Spool().Job(id)
			return err == nil && j.State == spool.StateCompleted && j.Serial == "" && len(j.Voided) == 1 && !off.net.pendingVoids.Has(id)
		}
	}
	waitCond(t, "the stopped temporary card printed and voided after the restart", voided(stopped.ID))

	if _, err := off.Submit(printing, photos[1]); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "office sees the second permanent card printed", func() bool {
		return off.net.status.Last()[printing.ID].Kind == string(network.EventPrinted)
	})
	waitCond(t, "the void waits for the card in the printer", func() bool { return off.net.pendingVoids.Has(printing.ID) })
	if j, err := off.Spool().Job(printing.ID); err != nil || j.State != spool.StateProcessing {
		t.Fatalf("temporary card in the printer: %+v, %v", j, err)
	}
	once.Do(func() { close(release) })
	waitCond(t, "the temporary card voided once it printed", voided(printing.ID))

	for _, id := range []string{stopped.ID, printing.ID} {
		j, _ := off.Spool().Job(id)
		for _, st := range []*Station{off, central} {
			waitCond(t, st.cfg.Station.ID+" denies "+j.Voided[0], func() bool {
				d, err := security.LoadDenyList(st.DenyListPath())
				return err == nil && d.Contains(j.Voided[0])
			})
		}
	}
}

// TestNetworkHeldJobForwardedOnRelease: a job the photo gate holds at the
// office is not forwarded while it is held; released by an operator, its
// request goes to the centre and prints there. A held job that is
// cancelled is never forwarded. Both survive a restart of the office
// while held.
func TestNetworkHeldJobForwardedOnRelease(t *testing.T) {
	casc := cascades.Dir(t)
	central, seed := centralWithHub(t)
	ocfg := officeConfig(t, central, seed)
	ocfg.Portrait.Cascades = casc // the gate holds photos without a face

	// A photo with no face in it: a smooth grey gradient.
	img := image.NewGray(image.Rect(0, 0, 480, 600))
	for y := range 600 {
		for x := range 480 {
			img.SetGray(x, y, color.Gray{Y: uint8(80 + (x+y)/10)})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	data, _ := sampleJobs(t, "temporary", 1)
	mk := func(id string) *jobfile.Job {
		return &jobfile.Job{ID: id, Template: "temporary", Mode: "temporary", Fields: data[0].Fields, Photo: "photo.png", Permanent: true}
	}
	released, cancelled := mk("HELD-REL"), mk("HELD-CAN")

	off, err := Open(t.Context(), ocfg, testLogger(t), netTestOpts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- off.Run(ctx) }()
	for _, j := range []*jobfile.Job{released, cancelled} {
		if _, err := off.Submit(j, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	notForwarded := func(id string) {
		t.Helper()
		if slices.Contains(off.net.outbox.Pending(), id) || off.net.outbox.Sent(id) {
			t.Fatalf("job %s forwarded while held at the office", id)
		}
	}
	for _, j := range []*jobfile.Job{released, cancelled} {
		waitCond(t, j.ID+" held by the photo gate", func() bool {
			sj, err := off.Spool().Job(j.ID)
			return err == nil && sj.State == spool.StateHeld && sj.Checked
		})
		notForwarded(j.ID)
		if !off.net.heldRequests.Has(j.ID) || off.net.status.Last()[j.ID].Kind != network.StatusWaitingRelease {
			t.Fatalf("job %s: request not kept at the office (status %+v)", j.ID, off.net.status.Last()[j.ID])
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("office run: %v", err)
	}
	off.Close()

	// After a restart: still not forwarded; the cancelled one never is,
	// the released one is.
	off, err = Open(t.Context(), ocfg, testLogger(t), netTestOpts)
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, off)
	if err := off.sched.Cancel(t.Context(), cancelled.ID, "wrong person"); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "the cancelled job's request withdrawn", func() bool {
		return off.net.status.Last()[cancelled.ID].Kind == network.StatusWithdrawn && !off.net.heldRequests.Has(cancelled.ID)
	})
	notForwarded(cancelled.ID)
	notForwarded(released.ID)
	if err := off.sched.Override(t.Context(), released.ID, "face checked by hand"); err != nil {
		t.Fatal(err)
	}
	centralID := network.CentralJobID("office-a", released.ID)
	waitCond(t, "the released job's permanent card printed at the centre", func() bool {
		cj, err := central.Spool().Job(centralID)
		return err == nil && cj.State == spool.StateCompleted
	})
	waitCond(t, "office sees it printed and voids its temporary card", func() bool {
		j, err := off.Spool().Job(released.ID)
		return off.net.status.Last()[released.ID].Kind == string(network.EventPrinted) && err == nil && j.Serial == "" && len(j.Voided) == 1
	})
	if off.net.heldRequests.Has(released.ID) {
		t.Error("released job's request still kept at the office")
	}
	notForwarded(cancelled.ID)
	if _, err := central.Spool().Job(network.CentralJobID("office-a", cancelled.ID)); err == nil {
		t.Error("cancelled job reached the centre")
	}
}

// TestNetworkOfficeStationCodeInUse: field offices register their serial
// station codes too; an office configured with a code that a central host
// or another office holds stops at start with a configuration error
// naming the code and its holder, and registers nothing.
func TestNetworkOfficeStationCodeInUse(t *testing.T) {
	central, seed := centralWithHub(t)
	a := officeConfig(t, central, seed)
	offA, err := Open(t.Context(), a, testLogger(t), netTestOpts)
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, offA)
	waitCond(t, "office A's code registered", func() bool {
		hs, err := network.StationCodeHolders(t.Context(), central.net.conn, "OA")
		return err == nil && len(hs) == 1 && hs[0].Site == "office-a"
	})
	for _, tc := range []struct{ code, holder string }{{"C1", "host central-1 of site central"}, {"OA", "host office-a of site office-a"}} {
		b := officeConfig(t, central, filepath.Join(filepath.Dir(seed), "office-b.nk"))
		b.Station.ID, b.Network.Site, b.Security.SerialStation = "office-b", "office-b", tc.code
		offB, err := Open(t.Context(), b, testLogger(t), netTestOpts)
		if err != nil {
			t.Fatal(err)
		}
		err = offB.Run(t.Context())
		offB.Close()
		var ce ConfigError
		if !errors.Is(err, network.ErrCodeInUse) || !errors.As(err, &ce) || !strings.Contains(err.Error(), "code "+tc.code+" belongs to "+tc.holder) {
			t.Fatalf("office B with code %s: %v", tc.code, err)
		}
		t.Logf("office B with code %s: %v", tc.code, err)
	}
	all, err := network.StationCodeHolders(t.Context(), central.net.conn, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range all {
		if h.Site == "office-b" {
			t.Errorf("refused office B left a registration: %+v", h)
		}
	}
}

// TestNetworkFacilityReport: two central hosts (one embedding the hub)
// take an office's requests; the facility report read from the hub's
// outcome events accounts for every request and card at the host that
// printed it, with the hosts' station codes, and no serial twice.
func TestNetworkFacilityReport(t *testing.T) {
	central, seed := centralWithHub(t)
	c2 := testConfig(t)
	c2.Station.ID, c2.Station.Mode = "central-2", config.Mode(jobfile.ModePermanent)
	c2.Security.SerialStation = "C2"
	c2.Batching.Size = 1
	c2.Network = &config.Network{Site: "central", Role: config.RoleCentral, HubURLs: []string{central.net.hub.ClientURL()},
		NKeySeed: filepath.Join(filepath.Dir(seed), "central.nk"), Replicas: 1}
	second, err := Open(t.Context(), c2, testLogger(t), netTestOpts)
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, second)
	off, err := Open(t.Context(), officeConfig(t, central, seed), testLogger(t), netTestOpts)
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, off)
	jobs, photos := sampleJobs(t, "temporary", 4)
	jobs = jobs[:4]
	jobs[3].PermanentTemplate = "no-such-template" // fails at the centre
	for i, j := range jobs {
		j.Permanent = true
		if _, err := off.Submit(j, photos[i]); err != nil {
			t.Fatal(err)
		}
	}
	waitCond(t, "every request's final status at the office", func() bool {
		last := off.net.status.Last()
		for i, j := range jobs {
			want := network.EventPrinted
			if i == 3 {
				want = network.EventFailed
			}
			if last[j.ID].Kind != string(want) {
				return false
			}
		}
		return true
	})
	var rep *network.FacilityReport
	waitCond(t, "the report counts every request", func() bool {
		rep, err = network.ReadFacilityReport(t.Context(), central.net.conn, time.Now(), network.ReportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return rep.Requests.Total == 4 && rep.Requests.Printed == 3 && rep.Requests.Failed == 1
	})
	t.Logf("report:\n%s", rep.Text())
	// The failed request never entered a spool: no "received".
	if rep.Requests.InProgress != 0 || rep.Cards.Printed != 3 || rep.Cards.Received != 3 || rep.Cards.Failed != 1 || rep.Cards.BlanksUsed != 3 || len(rep.DuplicateSerials) != 0 || rep.Queued != 0 {
		t.Errorf("report %+v", rep)
	}
	if len(rep.Offices) != 1 || rep.Offices[0].Office != "office-a" || rep.Offices[0].Printed != 3 {
		t.Errorf("offices %+v", rep.Offices)
	}
	// Each host's line matches its own spool.
	codes := map[string]string{"central-1": "C1", "central-2": "C2"}
	for _, h := range rep.Hosts {
		st := map[string]*Station{"central-1": central, "central-2": second}[h.Host]
		if st == nil {
			t.Fatalf("report names host %q", h.Host)
		}
		printed := 0
		for _, j := range st.Spool().Jobs() {
			if j.State == spool.StateCompleted && j.Serial != "" {
				printed++
			}
		}
		if h.Printed != printed || h.Code != codes[h.Host] {
			t.Errorf("host %s: report %+v, its spool printed %d", h.Host, h, printed)
		}
	}
	var held []string
	for _, c := range rep.Codes {
		held = append(held, c.Code+"="+c.Host)
	}
	slices.Sort(held)
	if got := strings.Join(held, " "); got != "C1=central-1 C2=central-2 OA=office-a" {
		t.Errorf("codes %s", got)
	}

	// The cards from the hosts' batch summaries: the facility's totals
	// are the sum of each host's own batch reports (the report.json that
	// "cardd batch report BATCH" shows on that host).
	// (Read once every batch is done, its report written, and the hub
	// holds its final summary and the host's record.)
	var want network.BatchCounts
	batches := 0
	hostSum := func() bool {
		want, batches = network.BatchCounts{}, 0
		for _, st := range []*Station{central, second} {
			if !st.BatchesDone() {
				return false
			}
			for _, b := range st.Spool().Batches() {
				data, err := os.ReadFile(filepath.Join(st.Config().Paths.Spool, "batches", b.ID, "report.json"))
				if err != nil {
					t.Fatalf("%s batch %s: %v", st.Config().Station.ID, b.ID, err)
				}
				var r spool.BatchReport
				if err := json.Unmarshal(data, &r); err != nil {
					t.Fatal(err)
				}
				batches++
				want.Jobs += r.Jobs
				want.Expected += r.BlanksExpected
				want.Printed += r.Printed
				want.Spoiled += r.Spoiled
				want.Reprinted += r.Reprinted
				want.Voided += r.Voided
				want.Unknown += r.Unknown
				want.BlanksUsed += r.BlanksUsed
			}
		}
		return true
	}
	waitCond(t, "every batch of both hosts done, and so on the hub", func() bool {
		if !hostSum() {
			return false
		}
		rep, err = network.ReadFacilityReport(t.Context(), central.net.conn, time.Now(), network.ReportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return rep.BatchTotals.Batches == batches && rep.BatchTotals.Open == 0 && len(rep.BatchHosts) == 2 &&
			!rep.BatchHosts[0].Updated.IsZero() && !rep.BatchHosts[1].Updated.IsZero()
	})
	got := rep.BatchTotals
	if got.Hosts != 2 || got.Jobs != want.Jobs || got.Expected != want.Expected || got.Printed != want.Printed || got.Spoiled != want.Spoiled ||
		got.Reprinted != want.Reprinted || got.Voided != want.Voided || got.Unknown != want.Unknown || got.BlanksUsed != want.BlanksUsed || got.Printed != 3 {
		t.Errorf("batch totals %+v, the hosts' reports sum to %+v", got, want)
	}
	if len(rep.Flags) != 0 {
		t.Errorf("flags: %+v", rep.Flags)
	}
	// Events older than the stream's age limit are gone from the hub
	// (here: purged); the cards are still all there.
	evs, err := central.net.conn.JS.Stream(t.Context(), network.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	if err := evs.Purge(t.Context()); err != nil {
		t.Fatal(err)
	}
	after, err := network.ReadFacilityReport(t.Context(), central.net.conn, time.Now(), network.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Events != 0 || after.BatchTotals != rep.BatchTotals || len(after.Batches) != batches || len(after.Flags) != 0 {
		t.Errorf("after the events went: events %d, totals %+v (were %+v), flags %+v", after.Events, after.BatchTotals, rep.BatchTotals, after.Flags)
	}
	t.Logf("report after the events went:\n%s", after.Text())
}

// TestNetworkVoidFollowsReprint: a temporary card reprinted at the office
// is the one voided when the permanent card's news comes (after the
// reprint printed, whose card was still in the printer then); and a
// reprint asks for no second permanent card.
func TestNetworkVoidFollowsReprint(t *testing.T) {
	central, seed := centralWithHub(t)
	release := make(chan struct{})
	var once sync.Once
	opts := netTestOpts
	opts.OnPrint = func(_, id string) {
		if id == "R-1-RE" {
			<-release
		}
	}
	off, err := Open(t.Context(), officeConfig(t, central, seed), testLogger(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	runStation(t, off)
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	jobs, photos := sampleJobs(t, "temporary", 2)
	r1, r2 := jobs[0], jobs[1]
	r1.ID, r2.ID = "R-1", "R-2"
	for i, j := range []*jobfile.Job{r1, r2} {
		if _, err := off.Submit(j, photos[i]); err != nil {
			t.Fatal(err)
		}
		waitCond(t, j.ID+" printed", func() bool {
			sj, err := off.Spool().Job(j.ID)
			return err == nil && sj.State == spool.StateCompleted
		})
	}
	if _, err := off.sched.Reprint(t.Context(), r1.ID, "R-1-RE", "smudged"); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "the reprint in the printer", func() bool {
		sj, err := off.Spool().Job("R-1-RE")
		return err == nil && sj.State == spool.StateProcessing
	})
	// The permanent card of R-1 printed at the centre (its event).
	if err := off.net.onEvent(t.Context(), &network.Event{Office: "office-a", Job: r1.ID, Kind: network.EventPrinted, Host: "central-1", Serial: "P-C1-0000009-1", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "the void waits for the reprint", func() bool { return off.net.pendingVoids.Has(r1.ID) })
	if sj, _ := off.Spool().Job(r1.ID); sj.Serial == "" {
		t.Fatalf("the original card voided before its reprint printed: %+v", sj)
	}
	once.Do(func() { close(release) })
	waitCond(t, "the reprint voided once printed", func() bool {
		orig, err1 := off.Spool().Job(r1.ID)
		re, err2 := off.Spool().Job("R-1-RE")
		return err1 == nil && err2 == nil && orig.Serial == "" && re.State == spool.StateCompleted && re.Serial == "" && len(re.Voided) == 1 && !off.net.pendingVoids.Has(r1.ID)
	})

	// A reprint whose job file asks for the permanent card too (as cardd
	// jobs reprint copies it) is not forwarded.
	re2 := *r2
	re2.ID, re2.ReprintOf, re2.ReprintReason, re2.Permanent = "R-2-RE", r2.ID, "lost", true
	if _, err := off.Submit(&re2, photos[1]); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "the permanent reprint printed", func() bool {
		sj, err := off.Spool().Job(re2.ID)
		return err == nil && sj.State == spool.StateCompleted
	})
	if slices.Contains(off.net.outbox.Pending(), re2.ID) || off.net.outbox.Sent(re2.ID) {
		t.Fatal("a reprint of a temporary card was forwarded as a second permanent request")
	}
}
