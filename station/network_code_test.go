package station

import (
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/internal/natstest"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/spool"
)

// TestNetworkNewCodeWaitsForHub: a field office started while the hub is
// unreachable prints under a serial station code the hub confirmed at an
// earlier start (recorded under STATE/network), but under a code the hub
// never confirmed it prints nothing until the hub answers: the code might
// be another station's. Two offices start behind the same cut link, one of
// each kind; once the confirmed one has printed, the other has not; when
// the link returns the other registers its code, records the confirmation
// and prints.
func TestNetworkNewCodeWaitsForHub(t *testing.T) {
	central, seed := centralWithHub(t)
	u, err := url.Parse(central.net.hub.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := natstest.NewProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	proxy.Cut()

	var mu sync.Mutex
	printed := map[string]bool{}
	opts := netTestOpts
	opts.OnPrint = func(_, id string) {
		mu.Lock()
		defer mu.Unlock()
		printed[id] = true
	}
	was := func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		return printed[id]
	}
	jobs, photos := sampleJobs(t, "temporary", 2)

	newCode := officeConfig(t, central, seed)
	newCode.Network.HubURLs = []string{proxy.URL()}
	known := officeConfig(t, central, filepath.Join(filepath.Dir(seed), "office-b.nk"))
	known.Station.ID, known.Network.Site, known.Security.SerialStation = "office-b", "office-b", "OB"
	known.Network.HubURLs = []string{proxy.URL()}
	// office-b's code was confirmed at an earlier start.
	if err := os.MkdirAll(network.StateDir(known.Paths.State), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := network.RecordCodeConfirmed(network.StateDir(known.Paths.State), network.ConfirmedCode{Code: "OB", Host: "office-b", Site: "office-b", Time: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	var offices []*Station
	for i, cfg := range []*config.Config{newCode, known} {
		st, err := Open(t.Context(), cfg, testLogger(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		runStation(t, st)
		if _, err := st.Submit(jobs[i], photos[i]); err != nil {
			t.Fatal(err)
		}
		offices = append(offices, st)
	}
	waitCond(t, "office-b (code confirmed before) prints with the hub away", func() bool { return was(jobs[1].ID) })
	if was(jobs[0].ID) {
		t.Fatal("office-a printed under a code the hub never confirmed")
	}
	if ok, err := network.CodeConfirmed(network.StateDir(newCode.Paths.State), "OA", "office-a", "office-a"); ok || err != nil {
		t.Fatalf("office-a's code recorded as confirmed with the hub away: %v, %v", ok, err)
	}

	proxy.Restore()
	waitCond(t, "office-a prints once the hub confirms its code", func() bool {
		j, err := offices[0].Spool().Job(jobs[0].ID)
		return err == nil && j.State == spool.StateCompleted
	})
	if ok, err := network.CodeConfirmed(network.StateDir(newCode.Paths.State), "OA", "office-a", "office-a"); !ok || err != nil {
		t.Fatalf("office-a's confirmed code not recorded: %v, %v", ok, err)
	}
}
