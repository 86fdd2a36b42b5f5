package facility

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/natstest"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// Environment of TestFacility.
const (
	// jobsEnv sets the number of jobs per field office (default 60).
	jobsEnv = "CARDD_FACILITY_JOBS"
	// killsEnv sets the number of kill -9 of central hosts (default 10).
	killsEnv = "CARDD_FACILITY_KILLS"
)

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// facilitySite is a station of the simulated facility: its daemon, its
// printer and its paths.
type facilitySite struct {
	id, site, code string
	role           network.Role
	dir            string
	cfgPath        string
	printer        *printer
	daemon         *daemon
	watch          *cardWatch
}

func (s *facilitySite) spoolDir() string   { return filepath.Join(s.dir, "spool") }
func (s *facilitySite) stateDir() string   { return filepath.Join(s.dir, "state") }
func (s *facilitySite) journal() string    { return filepath.Join(s.stateDir(), "journal") }
func (s *facilitySite) auditLog() string   { return filepath.Join(s.stateDir(), "audit.log") }
func (s *facilitySite) trustList() string  { return filepath.Join(s.dir, "keys", "trust.json") }
func (s *facilitySite) networkDir() string { return filepath.Join(s.stateDir(), "network") }

// stationConfig writes the site's configuration file.
func (s *facilitySite) writeConfig(t *testing.T, hubURLs []string, seedFile string) {
	t.Helper()
	// Offices print one-sided temporary cards; the central hosts' printers
	// are duplex (the permanent template has a back).
	mode, ribbon, duplex, extra := "temporary", "ymcko", false, ""
	if s.role == network.RoleCentral {
		mode, ribbon, duplex = "permanent", "ymckok", true
		extra = "replicas = 3\n"
	}
	quoted := make([]string, len(hubURLs))
	for i, u := range hubURLs {
		quoted[i] = strconv.Quote(u)
	}
	cfg := fmt.Sprintf(`[station]
id = %q
mode = %q

[paths]
spool = "spool"
state = "state"

[[printers]]
name = "p1"
driver = "evolis"
connection = "tcp:%s"
ribbon = %q
duplex = %t
poll_interval = "100ms"
io_timeout = "5s"

[printers.on_error]
policy = "retry-job"
max_retries = 5
backoff = "100ms"
max_backoff = "1s"

[security]
serial_prefix = "FAC"
serial_station = %q

[batching]
size = 8
window = "1s"

[retention]
personal_data = "0s"

[http]
listen = ""

# The sample portraits are drawings: the photo gate would hold them.
[portrait]
gate = "off"

[log]
level = "info"
format = "json"

[network]
role = %q
site = %q
hub_urls = [%s]
nkey_seed = %q
%s`, s.id, mode, s.printer.addr, ribbon, duplex, s.code, s.role, s.site, strings.Join(quoted, ", "), seedFile, extra)
	if err := os.MkdirAll(filepath.Join(s.spoolDir(), "incoming"), 0o770); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// jobsOf opens the site's journal read-only and returns its jobs by id.
func (s *facilitySite) jobsOf() (map[string]spool.Job, error) {
	sp, err := spool.Open(s.spoolDir(), spool.Options{ReadOnly: true, Journal: s.journal()}, nil)
	if err != nil {
		return nil, err
	}
	defer sp.Close()
	out := map[string]spool.Job{}
	for _, j := range sp.Jobs() {
		out[j.ID] = j
	}
	return out, nil
}

// settledState reports whether a job is where it stays without an
// operator: final, or held (outcome unknown).
func settledState(j spool.Job) bool { return j.State.Final() || j.State == spool.StateHeld }

// TestFacility is the issuance network as separate processes: a real
// 3-node nats-server cluster, two field offices and three central hosts,
// each a "cardd run" on its own emulated printer served over TCP. The
// offices print a temporary card for each job and forward a permanent
// request; the central hosts take the requests and print them in batches.
// During the run: office A's WAN link is cut while it keeps printing and
// queueing, central hosts are killed with SIGKILL in the middle of cards
// (≥ 10 kills) and restarted, and the requests stream's leader node is
// killed and restarted. Afterwards: every permanent request was printed
// exactly once or is held as outcome unknown at exactly one central host,
// none lost or duplicated; no serial was used twice anywhere; each office
// knows the final status of each of its requests; every audit chain
// verifies. CARDD_FACILITY_JOBS and CARDD_FACILITY_KILLS scale it up.
func TestFacility(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 3-node cluster and five daemons; skipped with -short")
	}
	perOffice := envInt(t, jobsEnv, 60)
	kills := envInt(t, killsEnv, 10)
	ctx, cancel := context.WithTimeout(t.Context(), 12*time.Minute)
	defer cancel()
	began := time.Now()
	dir := t.TempDir()
	bin := buildCardd(t, dir)

	// Sites and their keys; the hub knows each site by its NKey.
	keyDir := filepath.Join(dir, "nkeys")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	roles := map[string]network.Role{"office-a": network.RoleFieldOffice, "office-b": network.RoleFieldOffice, "central": network.RoleCentral}
	keys := map[string]siteKey{}
	for site := range roles {
		keys[site] = newSiteKey(t, keyDir, site)
	}
	frag, err := hubRender(hubUsers(keys, roles))
	if err != nil {
		t.Fatal(err)
	}
	cluster := natstest.StartT(t, natstest.Options{Config: frag})

	links := map[string]officeLink{}
	var offices, centrals []*facilitySite
	logDir := filepath.Join(dir, "logs")
	newSite := func(id, site, code string, role network.Role, urls []string) *facilitySite {
		s := &facilitySite{id: id, site: site, code: code, role: role, dir: filepath.Join(dir, id)}
		s.cfgPath = filepath.Join(s.dir, "station.toml")
		// A card takes about 0.6 s at a central printer (duplex, 23 s /
		// 40), long enough to be killed in the middle of; 0.22 s at an
		// office (one side, 18 s / 80).
		if role == network.RoleCentral {
			s.printer = servePrinter(t, 40, true)
		} else {
			s.printer = servePrinter(t, 80, false)
		}
		s.writeConfig(t, urls, keys[site].seedFile)
		s.daemon = newDaemon(t, bin, id, s.cfgPath, logDir)
		return s
	}
	for i, c := range []string{"c1", "c2", "c3"} {
		centrals = append(centrals, newSite(c, "central", fmt.Sprintf("C%d", i+1), network.RoleCentral, cluster.ClientURLs()))
	}
	for _, o := range []string{"office-a", "office-b"} {
		links[o] = newOfficeLink(t, cluster)
		code := "O" + strings.ToUpper(o[len(o)-1:])
		offices = append(offices, newSite(o, o, code, network.RoleFieldOffice, links[o].urls()))
	}
	for _, s := range append(append([]*facilitySite{}, centrals...), offices...) {
		s.daemon.start(t, ctx)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range append(append([]*facilitySite{}, centrals...), offices...) {
				t.Logf("--- %s: end of its current log %s\n%s", s.id, s.daemon.logPath(), tail(s.daemon.logPath(), 4000))
			}
		}
	})
	// The central printers' cards are read as they come out.
	wctx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	for _, s := range centrals {
		trust, err := security.LoadTrustList(s.trustList())
		if err != nil {
			t.Fatal(err)
		}
		s.watch = newCardWatch(s.printer, trust)
	}
	go func() {
		defer close(watchDone)
		done := make(chan struct{}, len(centrals))
		for _, s := range centrals {
			go func() { s.watch.run(wctx); done <- struct{}{} }()
		}
		for range centrals {
			<-done
		}
	}()
	t.Logf("facility up after %v", time.Since(began).Round(time.Millisecond))

	// Jobs: sample holders, each asking for a permanent card as well.
	samplesData, err := samples.Generate("temporary", 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	submitted := map[string][]string{} // office → job ids
	submit := func(s *facilitySite, n int) {
		t.Helper()
		for range n {
			k := len(submitted[s.id])
			d := samplesData[k%len(samplesData)]
			j := &jobfile.Job{ID: fmt.Sprintf("%s-%04d", strings.ToUpper(s.code), k+1), Template: "temporary", Mode: jobfile.ModeTemporary,
				Fields: d.Fields, Photo: "photo.jpg", Permanent: true, PermanentTemplate: "permanent"}
			if _, err := spool.Submit(s.spoolDir(), j, d.Photo); err != nil {
				t.Fatal(err)
			}
			submitted[s.id] = append(submitted[s.id], j.ID)
		}
	}
	officeA, officeB := offices[0], offices[1]

	// Fault 1: office A's WAN is down while a third of its jobs arrive;
	// it prints their temporary cards and keeps their requests.
	// A station prints only under a serial code the hub has confirmed once
	// (a first start waits for it): the offices must have that before the
	// WAN goes, as an installed office has.
	for _, s := range offices {
		waitFor(t, ctx, s.id+"'s station code confirmed by the hub", func() (bool, error) {
			_, err := os.Stat(filepath.Join(s.networkDir(), "station-code"))
			return err == nil, nil
		})
	}
	links["office-a"].cut()
	submit(officeA, perOffice/3)
	submit(officeB, perOffice/3)
	waitFor(t, ctx, "office A prints its temporary cards with the link down", func() (bool, error) {
		jobs, err := officeA.jobsOf()
		if err != nil {
			return false, nil
		}
		n := 0
		for _, id := range submitted[officeA.id] {
			if j, ok := jobs[id]; ok && j.State == spool.StateCompleted {
				n++
			}
		}
		return n == len(submitted[officeA.id]), nil
	})
	// …and holds their requests: queued, none forwarded.
	st, err := network.ReadStatus(officeA.networkDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range submitted[officeA.id] {
		kinds := map[string]bool{}
		for _, e := range st[id] {
			kinds[e.Kind] = true
		}
		if !kinds[network.StatusQueued] || kinds[network.StatusForwarded] {
			t.Errorf("office A request %s with the link down: %+v, want queued and not forwarded", id, st[id])
		}
	}
	links["office-a"].restore()

	// Fault 2 and 3: kill central hosts in the middle of a card (the
	// first host found with a card inside its printer) and restart them;
	// half way, kill the requests stream's leader node, and restart it two
	// kills later. The rest of the jobs arrive during the kills.
	rest := perOffice - perOffice/3
	var victimNode *natstest.Node
	var lastKilled *facilitySite
	killsOf := map[string]int{}
	for k := range kills {
		share := rest / kills
		if k == kills-1 {
			share = rest - share*(kills-1)
		}
		submit(officeA, share)
		submit(officeB, share)
		// Kill a host with a card in its printer, preferring one other
		// than the last killed (for up to 20 s), so the kills spread.
		var s *facilitySite
		kctx, kcancel := context.WithTimeout(ctx, 3*time.Minute)
		since := time.Now()
		err := poll(kctx, func() (bool, error) {
			for i := range centrals {
				c := centrals[(k+i)%len(centrals)]
				if c.printer.emu.State().CardInside && (c != lastKilled || time.Since(since) > 20*time.Second) {
					s = c
					return true, nil
				}
			}
			return false, nil
		})
		kcancel()
		if err != nil {
			t.Fatalf("kill %d: no central printer had a card inside: %v", k+1, err)
		}
		lastKilled = s
		killsOf[s.id]++
		s.daemon.kill()
		if k == kills/2 {
			victimNode = requestsLeader(t, ctx, cluster, keys["central"].seedFile)
			victimNode.Kill()
			t.Logf("killed hub node %s (the requests stream's leader)", victimNode.Name)
		}
		s.daemon.start(t, ctx)
		if k == kills/2+2 {
			if err := victimNode.Restart(ctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("hub node %s back and healthy", victimNode.Name)
		}
	}
	if kills < kills/2+3 { // too few kills to reach the restart above
		if err := victimNode.Restart(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d central kills %v done after %v", kills, killsOf, time.Since(began).Round(time.Millisecond))

	// Settle: every office job's permanent request has a final status at
	// its office, and where that is "printed" the office voided the
	// temporary card (void_temporary_on_permanent, the default), however
	// late the temporary card printed.
	total := 0
	for _, ids := range submitted {
		total += len(ids)
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Minute)
	err = poll(sctx, func() (bool, error) {
		n := 0
		for _, s := range offices {
			st, err := network.ReadStatus(s.networkDir())
			if err != nil {
				return false, nil
			}
			ojobs, err := s.jobsOf()
			if err != nil {
				return false, nil
			}
			for _, id := range submitted[s.id] {
				last := finalStatus(st[id])
				if last == nil {
					continue
				}
				if oj := ojobs[id]; network.EventKind(last.Kind) == network.EventPrinted && (oj.Serial != "" || len(oj.Voided) == 0) {
					continue // the temporary card is not voided yet
				}
				n++
			}
		}
		return n == total, nil
	})
	scancel()
	if err != nil {
		// Say where the requests are.
		for _, s := range offices {
			st, _ := network.ReadStatus(s.networkDir())
			ojobs, _ := s.jobsOf()
			for _, id := range submitted[s.id] {
				if last := finalStatus(st[id]); last == nil || network.EventKind(last.Kind) == network.EventPrinted && ojobs[id].Serial != "" {
					t.Logf("office %s request %s: %+v; temporary card %+v", s.id, id, st[id], ojobs[id])
				}
			}
		}
		for _, s := range centrals {
			jobs, err := s.jobsOf()
			states := map[string]int{}
			for _, j := range jobs {
				states[string(j.State)+" "+j.Reason]++
			}
			t.Logf("central %s: %v %v", s.id, states, err)
		}
		t.Fatalf("the requests' final statuses did not all reach their offices (with the temporary cards voided): %v", err)
	}
	t.Logf("every request's final status back at its office after %v", time.Since(began).Round(time.Millisecond))
	checkFacilityReport(t, ctx, cluster, keys["central"].seedFile, centrals)
	stopWatch()
	<-watchDone
	for _, s := range append(append([]*facilitySite{}, centrals...), offices...) {
		s.daemon.stop()
	}
	checkFacility(t, bin, offices, centrals, submitted)
	t.Logf("facility test: %d jobs, %d central kills, one hub node killed, office A cut off; %v in all",
		total, kills, time.Since(began).Round(time.Millisecond))
}

// waitFor polls cond with a deadline of ctx and says how long it took.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() (bool, error)) {
	t.Helper()
	start := time.Now()
	if err := poll(ctx, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond))
}

// finalStatus returns the entry that settles a request at its office:
// printed (with its serial) whatever came after it; else the latest event
// from the central facility when it is final: outcome unknown, or refused
// (failed, or voided before it was ever printed). nil while the latest
// event is not final (received, spoiled: another card follows, held).
// An outcome unknown is not always final: the central host may settle it
// from the printer's evidence (spoiled, then a new card) and the new card
// may print, be of unknown outcome again, or be refused (its composition
// quarantined after two kills), so the latest event counts, as in the
// facility report.
func finalStatus(es []network.StatusEntry) *network.StatusEntry {
	var last *network.StatusEntry
	for i := range es {
		if es[i].Event == "" {
			continue // the office's own steps (queued, forwarded)
		}
		if network.EventKind(es[i].Kind) == network.EventPrinted {
			return &es[i]
		}
		last = &es[i]
	}
	if last == nil {
		return nil
	}
	switch network.EventKind(last.Kind) {
	case network.EventUnknown, network.EventFailed, network.EventVoided:
		return last
	}
	return nil
}

// firstWords returns the first n words of s.
func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}

// requestsLeader returns the node leading the requests stream.
func requestsLeader(t *testing.T, ctx context.Context, c *natstest.Cluster, seed string) *natstest.Node {
	t.Helper()
	conn, err := network.Connect(ctx, network.ConnOptions{URLs: c.ClientURLs(), Site: "central", Role: network.RoleCentral, NKeySeedFile: seed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var leader string
	err = poll(ctx, func() (bool, error) {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		st, err := conn.JS.Stream(ictx, network.StreamRequests)
		if err != nil {
			return false, nil
		}
		info, err := st.Info(ictx)
		if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
			return false, nil
		}
		leader = info.Cluster.Leader
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := c.Node(leader)
	if n == nil {
		t.Fatalf("leader %q is no node", leader)
	}
	return n
}

// checkFacility checks the end state of the facility.
func checkFacility(t *testing.T, bin string, offices, centrals []*facilitySite, submitted map[string][]string) {
	t.Helper()
	serialOwner := map[string]string{} // every serial issued anywhere → "site/job"
	claimSerial := func(site, job, serial string) {
		if serial == "" {
			return
		}
		if prev, dup := serialOwner[serial]; dup && prev != site+"/"+job {
			t.Errorf("serial %s used twice: %s and %s/%s", serial, prev, site, job)
		}
		serialOwner[serial] = site + "/" + job
	}

	// The central hosts: where each request ended up.
	type placed struct {
		host string
		job  spool.Job
	}
	central := map[string][]placed{} // central job id → hosts holding it
	counts := map[string]int{}
	delivered := map[string]int{} // serial → cards delivered by any central printer
	for _, s := range centrals {
		jobs, err := s.jobsOf()
		if err != nil {
			t.Fatal(err)
		}
		for id, j := range jobs {
			central[id] = append(central[id], placed{s.id, j})
			claimSerial(s.id, id, j.Serial)
			for _, v := range j.Voided {
				claimSerial(s.id, id, v)
			}
		}
		for serial, n := range s.watch.serials {
			delivered[serial] += n
		}
		for _, b := range s.watch.bad {
			t.Errorf("%s printer: %s", s.id, b)
		}
	}
	for serial, n := range delivered {
		if n > 1 {
			t.Errorf("serial %s delivered %d times", serial, n)
		}
	}
	for _, o := range offices {
		ojobs, err := o.jobsOf()
		if err != nil {
			t.Fatal(err)
		}
		// What the office's operator sees: "cardd jobs list --json".
		out, err := exec.Command(bin, "jobs", "list", "--json", "--config", o.cfgPath).Output()
		if err != nil {
			t.Fatalf("cardd jobs list at %s: %v", o.id, err)
		}
		var listed []struct {
			ID      string                `json:"id"`
			Network []network.StatusEntry `json:"network"`
		}
		if err := json.Unmarshal(out, &listed); err != nil {
			t.Fatalf("cardd jobs list --json at %s: %v\n%s", o.id, err, out)
		}
		status := map[string][]network.StatusEntry{}
		for _, l := range listed {
			status[l.ID] = l.Network
		}
		for _, id := range submitted[o.id] {
			oj, ok := ojobs[id]
			if !ok {
				t.Errorf("office %s lost job %s", o.id, id)
				continue
			}
			if oj.State != spool.StateCompleted {
				t.Errorf("office %s job %s: temporary card %s (%q)", o.id, id, oj.State, oj.Reason)
			}
			claimSerial(o.id, id, oj.Serial)
			for _, v := range oj.Voided {
				claimSerial(o.id, id, v)
			}
			cid := network.CentralJobID(o.id, id)
			hosts := central[cid]
			if len(hosts) != 1 {
				t.Errorf("request %s/%s is at %d central hosts, want 1", o.id, id, len(hosts))
				continue
			}
			cj := hosts[0].job
			last := finalStatus(status[id])
			if last == nil {
				t.Errorf("office %s has no final status of request %s: %+v", o.id, id, status[id])
				continue
			}
			switch {
			case cj.State == spool.StateCompleted && cj.Serial != "":
				counts["printed"]++
				if delivered[cj.Serial] != 1 {
					t.Errorf("request %s/%s completed at %s with serial %s, delivered %d times", o.id, id, hosts[0].host, cj.Serial, delivered[cj.Serial])
				}
				if last.Serial != cj.Serial {
					t.Errorf("office %s sees request %s as %+v, central printed serial %s", o.id, id, last, cj.Serial)
				}
				// void_temporary_on_permanent (the default): the temporary
				// card's serial is void once the permanent card printed,
				// also when the temporary card was still queued or
				// printing when the news came (the void waits for it).
				if oj.Serial != "" || len(oj.Voided) != 1 {
					t.Errorf("office %s job %s: permanent card printed, temporary serial %q not voided (voided %v)", o.id, id, oj.Serial, oj.Voided)
				}
			case cj.State == spool.StateHeld && cj.Reason == spool.ReasonOutcomeUnknown:
				counts["outcome unknown"]++
				if network.EventKind(last.Kind) != network.EventUnknown {
					t.Errorf("office %s sees request %s as %+v, central holds it as outcome unknown", o.id, id, last)
				}
				if delivered[cj.Serial] > 1 {
					t.Errorf("request %s/%s held as outcome unknown with serial %s, delivered %d times", o.id, id, cj.Serial, delivered[cj.Serial])
				}
			case cj.State == spool.StateAborted && cj.Reason != "":
				// The spool refused the job for good with a reason (its
				// crash guard quarantines a job during which the daemon
				// died twice while composing): never printed, and the
				// office is told.
				counts["refused: "+firstWords(cj.Reason, 3)]++
				if k := network.EventKind(last.Kind); k != network.EventVoided && k != network.EventFailed {
					t.Errorf("office %s sees request %s as %+v, central refused it: %s", o.id, id, last, cj.Reason)
				}
				if cj.Serial != "" && delivered[cj.Serial] > 0 {
					t.Errorf("request %s/%s refused at %s, yet its serial %s was delivered", o.id, id, hosts[0].host, cj.Serial)
				}
			default:
				t.Errorf("request %s/%s at %s ended %s (%q)", o.id, id, hosts[0].host, cj.State, cj.Reason)
			}
		}
	}
	// Every central job came from a request, and each delivered serial
	// belongs to a central job.
	for serial := range delivered {
		if _, ok := serialOwner[serial]; !ok {
			t.Errorf("a central printer delivered serial %s that no journal knows", serial)
		}
	}
	// The audit chains.
	for _, s := range append(append([]*facilitySite{}, centrals...), offices...) {
		out, err := exec.Command(bin, "audit", "verify", "--config", s.cfgPath).CombinedOutput()
		if err != nil {
			t.Errorf("cardd audit verify %s: %v\n%s", s.id, err, out)
		}
	}
	t.Logf("requests: %v; %d serials in all", counts, len(serialOwner))
	if counts["printed"] == 0 {
		t.Error("no permanent card printed: the test exercised nothing")
	}
}

// checkFacilityReport: after the faults, the facility report's cards
// (from the central hosts' batch summaries on the hub) come to equal the
// sum of every central host's own batch reports (what "cardd batch report
// BATCH" shows there: the report written when the batch finished, or one
// computed from the journal), and no summary is malformed, no batch's
// blanks fail to add up and no serial range overlaps another host's.
func checkFacilityReport(t *testing.T, ctx context.Context, c *natstest.Cluster, seed string, centrals []*facilitySite) {
	t.Helper()
	conn, err := network.Connect(ctx, network.ConnOptions{URLs: c.ClientURLs(), Site: "central", Role: network.RoleCentral, NKeySeedFile: seed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hostSum := func() (network.BatchTotals, error) {
		var sum network.BatchTotals
		for _, s := range centrals {
			sp, err := spool.Open(s.spoolDir(), spool.Options{ReadOnly: true, Journal: s.journal()}, nil)
			if err != nil {
				return sum, err
			}
			sum.Hosts++
			for _, b := range sp.Batches() {
				r := &spool.BatchReport{}
				if data, err := os.ReadFile(filepath.Join(s.spoolDir(), "batches", b.ID, "report.json")); err == nil {
					err = json.Unmarshal(data, r)
					if err != nil {
						sp.Close()
						return sum, err
					}
				} else if r, err = sp.BatchReport(b.ID, nil); err != nil {
					sp.Close()
					return sum, err
				}
				sum.Batches++
				if r.Batch.State != spool.BatchDone {
					sum.Open++
				}
				sum.Jobs += r.Jobs
				sum.Expected += r.BlanksExpected
				sum.Printed += r.Printed
				sum.Spoiled += r.Spoiled
				sum.Reprinted += r.Reprinted
				sum.Voided += r.Voided
				sum.Unknown += r.Unknown
				sum.Aborted += r.Aborted
				sum.Cancelled += r.Cancelled
				sum.Stray += r.Stray
				sum.BlanksUsed += r.BlanksUsed
			}
			sp.Close()
		}
		return sum, nil
	}
	var rep *network.FacilityReport
	var want network.BatchTotals
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	err = poll(pctx, func() (bool, error) {
		if want, err = hostSum(); err != nil {
			return false, nil // a journal being written: read again
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if rep, err = network.ReadFacilityReport(rctx, conn, time.Now(), network.ReportOptions{}); err != nil {
			return false, nil
		}
		return rep.BatchTotals == want, nil
	})
	if err != nil {
		if rep == nil {
			t.Errorf("facility report: never read: %v", err)
		} else {
			t.Errorf("facility report: cards %+v, the hosts' batch reports sum to %+v: %v\n%s", rep.BatchTotals, want, err, rep.Text())
		}
		return
	}
	t.Logf("facility report's cards equal the hosts' batch reports after %v: %+v", time.Since(start).Round(time.Millisecond), rep.BatchTotals)
	for _, f := range rep.Flags {
		if strings.Contains(f.Problem, "not counted") || strings.Contains(f.Problem, "but printed") || strings.Contains(f.Problem, "overlap") {
			t.Errorf("facility report flags %s %s: %s", f.Host, f.Batch, f.Problem)
		} else {
			t.Logf("facility report flags %s %s: %s", f.Host, f.Batch, f.Problem)
		}
	}
}
