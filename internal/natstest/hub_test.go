package natstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
	"github.com/cardd/cardd/spool/jobfile"
)

// TestNetworkHubOnCluster runs the issuance network's hub as a real 3-node
// nats-server cluster configured with the users and permissions that
// network/hub renders (as the README's "Scale out" section tells an
// operator to): a central host sets up the streams with three replicas,
// an office forwards requests, is refused another office's subject, and
// the central host takes every request even after the stream's leader
// was killed.
func TestNetworkHubOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs nats-server; skipped with -short")
	}
	users := []hub.User{
		{Name: "office-a", Role: network.RoleFieldOffice, Password: "pa"},
		{Name: "office-b", Role: network.RoleFieldOffice, Password: "pb"},
		{Name: "central", Role: network.RoleCentral, Password: "pc"},
	}
	frag, err := hub.RenderConfig(users)
	if err != nil {
		t.Fatal(err)
	}
	c := StartT(t, Options{Config: string(frag)})
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()

	connect := func(site string, role network.Role, pass string) *network.Conn {
		t.Helper()
		conn, err := network.Connect(ctx, network.ConnOptions{
			URLs: c.ClientURLs(), Site: site, Role: role, User: site, Password: pass,
			ReconnectWait: 50 * time.Millisecond,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(conn.Close)
		if err := conn.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		return conn
	}
	central := connect("central", network.RoleCentral, "pc")
	if err := network.EnsureStreams(ctx, central.JS, network.StreamOptions{Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	office := connect("office-a", network.RoleFieldOffice, "pa")

	forward := func(site, id string) error {
		data, err := network.EncodeRequest(&network.Request{
			Office: site, Sent: time.Now(),
			Job: &jobfile.Job{ID: id, Template: "permanent", Permanent: true, Fields: map[string]string{"name": "Test Person"}},
		})
		if err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err = office.JS.Publish(pctx, network.RequestSubject(site, id), data, jetstream.WithMsgID(network.MsgID(site, id)))
		return err
	}
	// retry forwards until the stream has a leader (after a kill).
	retry := func(f func() error) {
		t.Helper()
		for {
			err := f()
			if err == nil {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%v (last: %v)", ctx.Err(), err)
			case <-time.After(50 * time.Millisecond): // back off before the next try
			}
		}
	}
	for i := range 10 {
		retry(func() error { return forward("office-a", fmt.Sprintf("A-%02d", i)) })
	}
	if err := forward("office-b", "B-01"); err == nil {
		t.Fatal("office-a published a request as office-b")
	}

	// Each API request below waits at most 10 seconds for its reply and
	// is sent again: a reply can be lost while the cluster elects leaders.
	var stream jetstream.Stream
	var info *jetstream.StreamInfo
	streamInfo := func() error {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var err error
		if stream == nil {
			if stream, err = central.JS.Stream(sctx, network.StreamRequests); err != nil {
				t.Logf("stream %s: %v", network.StreamRequests, err)
				return err
			}
		}
		if info, err = stream.Info(sctx); err != nil {
			t.Logf("stream %s info: %v", network.StreamRequests, err)
		}
		return err
	}
	retry(streamInfo)
	if info.Config.Replicas != 3 || info.State.Msgs != 10 {
		t.Fatalf("requests stream: %d replicas, %d messages; want 3 and 10", info.Config.Replicas, info.State.Msgs)
	}
	leader := c.Node(info.Cluster.Leader)
	if leader == nil {
		t.Fatalf("leader %q not a node", info.Cluster.Leader)
	}
	leader.Kill()
	for i := 10; i < 20; i++ {
		retry(func() error { return forward("office-a", fmt.Sprintf("A-%02d", i)) })
	}
	// A request forwarded again (an office retrying after a lost ack) is
	// not queued twice.
	retry(func() error { return forward("office-a", "A-03") })

	var cons jetstream.Consumer
	start := time.Now()
	retry(func() error {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var err error
		cons, err = central.JS.Consumer(cctx, network.StreamRequests, network.TakerConsumer)
		if err != nil {
			t.Logf("consumer %s: %v", network.TakerConsumer, err)
		}
		return err
	})
	t.Logf("consumer found %v after the last forward", time.Since(start).Round(time.Millisecond))
	taken := map[string]bool{}
	for len(taken) < 20 && ctx.Err() == nil {
		batch, err := cons.Fetch(10, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			continue
		}
		for m := range batch.Messages() {
			r, err := network.DecodeRequest(m.Subject(), m.Data())
			if err != nil {
				t.Fatalf("decode %s: %v", m.Subject(), err)
			}
			if taken[r.Job.ID] {
				t.Errorf("request %s delivered twice", r.Job.ID)
			}
			taken[r.Job.ID] = true
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = m.DoubleAck(actx)
			cancel()
			if err != nil {
				t.Logf("ack %s: %v", r.Job.ID, err)
			}
		}
	}
	if len(taken) != 20 {
		t.Fatalf("took %d requests, want 20", len(taken))
	}
	if err := leader.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	retry(streamInfo)
	if info.State.Msgs != 0 {
		t.Errorf("%d requests left on the hub after all were taken", info.State.Msgs)
	}
}
