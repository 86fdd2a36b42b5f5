package hub_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
)

var testUsers = []hub.User{
	{Name: "office-a", Role: network.RoleFieldOffice, Password: "pa"},
	{Name: "office-b", Role: network.RoleFieldOffice, Password: "pb"},
	{Name: "central-1", Role: network.RoleCentral, Password: "pc"},
}

func startHub(t *testing.T) *hub.Hub {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := hub.Start(ctx, hub.Options{StoreDir: t.TempDir(), Users: testUsers}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// rawConn connects as a site with the site's inbox prefix and reports the
// server's asynchronous errors (permission violations) on errs.
func rawConn(t *testing.T, h *hub.Hub, site, pass string) (*nats.Conn, chan error) {
	t.Helper()
	errs := make(chan error, 64)
	nc, err := nats.Connect(h.ClientURL(), nats.UserInfo(site, pass), nats.CustomInboxPrefix(network.InboxPrefix(site)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

func siteConn(t *testing.T, h *hub.Hub, site, pass string, role network.Role) *network.Conn {
	t.Helper()
	c, err := network.Connect(context.Background(), network.ConnOptions{URLs: []string{h.ClientURL()}, Site: site, Role: role, User: site, Password: pass}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// expectViolation runs f and waits for the server's permission violation
// naming subject.
func expectViolation(t *testing.T, errs chan error, subject string, f func() error) {
	t.Helper()
	if err := f(); err != nil && !strings.Contains(strings.ToLower(err.Error()), "permission") {
		t.Fatalf("%s: %v", subject, err)
	}
	start := time.Now()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case err := <-errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), subject) {
				t.Logf("refused after %v: %v", time.Since(start).Round(time.Millisecond), err)
				return
			}
			t.Logf("other error: %v", err)
		case <-deadline:
			t.Fatalf("no permission violation for %s", subject)
		}
	}
}

func TestOfficeCannotReachOtherOffices(t *testing.T) {
	h := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	central := siteConn(t, h, "central-1", "pc", network.RoleCentral)
	b := siteConn(t, h, "office-b", "pb", network.RoleFieldOffice)

	// Office B queues a request: A must not be able to see it.
	ack, err := b.JS.Publish(ctx, network.RequestSubject("office-b", "B.1"), []byte("secret of B"), jetstream.WithMsgID(network.MsgID("office-b", "B.1")))
	if err != nil {
		t.Fatalf("office B publishes its own request: %v", err)
	}
	if ack.Stream != network.StreamRequests {
		t.Fatalf("stored in %s", ack.Stream)
	}
	// Central publishes one event for each office.
	for _, office := range []string{"office-a", "office-b"} {
		if _, err := central.JS.Publish(ctx, network.EventSubject(office, "J1"), []byte(office)); err != nil {
			t.Fatal(err)
		}
	}

	nc, errs := rawConn(t, h, "office-a", "pa")
	bReq := network.RequestSubject("office-b", "B.1")
	t.Run("publish as another office", func(t *testing.T) {
		expectViolation(t, errs, "cardd.req.office-b", func() error { return nc.Publish(network.RequestSubject("office-b", "fake"), []byte("x")) })
	})
	t.Run("subscribe to requests", func(t *testing.T) {
		expectViolation(t, errs, "cardd.req.>", func() error { _, err := nc.SubscribeSync("cardd.req.>"); return err })
	})
	t.Run("subscribe to another office's events", func(t *testing.T) {
		expectViolation(t, errs, "cardd.evt.office-b.>", func() error { _, err := nc.SubscribeSync("cardd.evt.office-b.>"); return err })
	})
	t.Run("subscribe to another office's inbox", func(t *testing.T) {
		expectViolation(t, errs, "_INBOX_office-b.>", func() error { _, err := nc.SubscribeSync("_INBOX_office-b.>"); return err })
	})
	t.Run("consume the request queue", func(t *testing.T) {
		subj := "$JS.API.CONSUMER.MSG.NEXT." + network.StreamRequests + "." + network.TakerConsumer
		expectViolation(t, errs, subj, func() error { return nc.PublishRequest(subj, nc.NewRespInbox(), []byte(`{"batch":1}`)) })
	})
	t.Run("create a consumer on the request queue", func(t *testing.T) {
		subj := "$JS.API.CONSUMER.CREATE." + network.StreamRequests + ".spy." + bReq
		expectViolation(t, errs, subj, func() error { return nc.PublishRequest(subj, nc.NewRespInbox(), []byte(`{}`)) })
	})
	t.Run("read a request directly", func(t *testing.T) {
		subj := "$JS.API.DIRECT.GET." + network.StreamRequests + "." + bReq
		expectViolation(t, errs, subj, func() error { return nc.PublishRequest(subj, nc.NewRespInbox(), nil) })
	})
	t.Run("consume another office's events", func(t *testing.T) {
		subj := "$JS.API.CONSUMER.CREATE." + network.StreamEvents + ".evt_office-a.cardd.evt.office-b.>"
		expectViolation(t, errs, subj, func() error { return nc.PublishRequest(subj, nc.NewRespInbox(), []byte(`{}`)) })
		subj = "$JS.API.CONSUMER.MSG.NEXT." + network.StreamEvents + ".evt_office-b"
		expectViolation(t, errs, subj, func() error { return nc.PublishRequest(subj, nc.NewRespInbox(), []byte(`{"batch":1}`)) })
	})
	// The central hosts' batch summaries: central writes and reads them,
	// an office can do neither.
	kv, err := central.JS.KeyValue(ctx, network.BucketBatches)
	if err != nil {
		t.Fatalf("central opens the batch summaries: %v", err)
	}
	summaryKey := network.BatchSummaryKey("central-1", "B000001")
	if _, err := kv.Put(ctx, summaryKey, []byte(`{}`)); err != nil {
		t.Fatalf("central writes a batch summary: %v", err)
	}
	if _, err := kv.Get(ctx, summaryKey); err != nil {
		t.Fatalf("central reads a batch summary: %v", err)
	}
	kvStream := "KV_" + network.BucketBatches
	t.Run("read the batch summaries", func(t *testing.T) {
		for _, subj := range []string{
			"$JS.API.STREAM.INFO." + kvStream,
			"$JS.API.DIRECT.GET." + kvStream + ".$KV." + network.BucketBatches + "." + summaryKey,
			"$JS.API.STREAM.MSG.GET." + kvStream,
			"$JS.API.CONSUMER.CREATE." + kvStream + ".spy.$KV." + network.BucketBatches + ".>",
		} {
			expectViolation(t, errs, subj, func() error { return nc.PublishRequest(subj, nc.NewRespInbox(), []byte(`{}`)) })
		}
		subj := "$KV." + network.BucketBatches + ".>"
		expectViolation(t, errs, subj, func() error { _, err := nc.SubscribeSync(subj); return err })
	})
	t.Run("write a batch summary", func(t *testing.T) {
		subj := "$KV." + network.BucketBatches + "." + network.BatchSummaryKey("office-a", "B000001")
		expectViolation(t, errs, subj, func() error { return nc.Publish(subj, []byte(`{}`)) })
		subj = "$KV." + network.BucketBatches + "." + network.HostBeatKey("office-a")
		expectViolation(t, errs, subj, func() error { return nc.Publish(subj, []byte(`{}`)) })
	})
	// Through the client library too: an office cannot open the bucket.
	t.Run("open the bucket as an office", func(t *testing.T) {
		a := siteConn(t, h, "office-a", "pa", network.RoleFieldOffice)
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := a.JS.KeyValue(sctx, network.BucketBatches); err == nil {
			t.Fatal("office A opened the batch summaries")
		} else {
			t.Logf("refused: %v", err)
		}
	})
	t.Run("own consumer subject with a wider filter in the body", func(t *testing.T) {
		subj := "$JS.API.CONSUMER.CREATE." + network.StreamEvents + ".evt_office-a.cardd.evt.office-a.>"
		for _, body := range []map[string]any{
			{"stream_name": network.StreamEvents, "config": map[string]any{"durable_name": "evt_office-a", "name": "evt_office-a", "filter_subject": "cardd.evt.>", "ack_policy": "explicit"}},
			{"stream_name": network.StreamEvents, "config": map[string]any{"durable_name": "evt_office-a", "name": "evt_office-a", "filter_subjects": []string{"cardd.evt.office-a.>", "cardd.evt.office-b.>"}, "ack_policy": "explicit"}},
			{"stream_name": network.StreamEvents, "config": map[string]any{"durable_name": "evt_office-a", "name": "evt_office-a", "ack_policy": "explicit"}},
		} {
			data, _ := json.Marshal(body)
			msg, err := nc.RequestWithContext(ctx, subj, data)
			if err != nil {
				t.Fatal(err)
			}
			var resp struct {
				Error *struct {
					Description string `json:"description"`
				} `json:"error"`
			}
			if err := json.Unmarshal(msg.Data, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.Error == nil {
				t.Fatalf("server accepted %s with body %s: %s", subj, data, msg.Data)
			}
			t.Logf("refused: %s", resp.Error.Description)
		}
	})

	// Office A's own durable consumer sees only A's event.
	a := siteConn(t, h, "office-a", "pa", network.RoleFieldOffice)
	cons, err := a.JS.CreateOrUpdateConsumer(ctx, network.StreamEvents, jetstream.ConsumerConfig{
		Durable: network.EventsConsumer("office-a"), FilterSubject: "cardd.evt.office-a.>", AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatalf("office A creates its own events consumer: %v", err)
	}
	batch, err := cons.FetchNoWait(10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, string(m.Data()))
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("ack own event: %v", err)
		}
	}
	if len(got) != 1 || got[0] != "office-a" {
		t.Fatalf("office A's events = %q, want exactly its own", got)
	}
	// The request of B is untouched: still one message on the hub.
	st, err := central.JS.Stream(ctx, network.StreamRequests)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("requests on the hub = %d, want 1", n)
	}
}

func TestRenderConfigMatchesEmbedded(t *testing.T) {
	users := append([]hub.User{}, testUsers...)
	users = append(users, hub.User{Name: "central-2", Role: network.RoleCentral, NKey: "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"})
	frag, err := hub.RenderConfig(users)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "hub.conf")
	full := "port: -1\njetstream { store_dir: " + `"` + filepath.ToSlash(dir) + `"` + " }\n" + string(frag)
	if err := os.WriteFile(conf, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("nats-server rejects the fragment: %v\n%s", err, frag)
	}
	if opts.MaxPayload != network.MaxPayload {
		t.Errorf("max_payload = %d", opts.MaxPayload)
	}
	pw, nk, err := hub.ServerUsers(users)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Users) != len(pw) || len(opts.Nkeys) != len(nk) {
		t.Fatalf("config has %d users and %d nkeys, want %d and %d", len(opts.Users), len(opts.Nkeys), len(pw), len(nk))
	}
	for i, u := range opts.Users {
		w := pw[i]
		if u.Username != w.Username || u.Password != w.Password ||
			strings.Join(u.Permissions.Publish.Allow, " ") != strings.Join(w.Permissions.Publish.Allow, " ") ||
			strings.Join(u.Permissions.Subscribe.Allow, " ") != strings.Join(w.Permissions.Subscribe.Allow, " ") {
			t.Errorf("user %d from the file = %+v %+v, embedded %+v %+v", i, u, u.Permissions.Publish, w, w.Permissions.Publish)
		}
	}
	if opts.Nkeys[0].Nkey != nk[0].Nkey || strings.Join(opts.Nkeys[0].Permissions.Publish.Allow, " ") != strings.Join(nk[0].Permissions.Publish.Allow, " ") {
		t.Errorf("nkey user differs: %+v", opts.Nkeys[0])
	}
}

func TestStartRefusesOffLoopbackWithoutTLS(t *testing.T) {
	_, err := hub.Start(context.Background(), hub.Options{Host: "0.0.0.0", StoreDir: t.TempDir(), Users: testUsers}, nil)
	if err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("err = %v, want TLS required", err)
	}
}

func TestUsersFileAndNKeys(t *testing.T) {
	dir := t.TempDir()
	office, err := hub.NewNKeyUser("office-n", network.RoleFieldOffice, filepath.Join(dir, "office-n.nk"))
	if err != nil {
		t.Fatal(err)
	}
	c1, err := hub.NewNKeyUser("central", network.RoleCentral, filepath.Join(dir, "c1.nk"))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := hub.NewNKeyUser("central", network.RoleCentral, filepath.Join(dir, "c2.nk"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := hub.MarshalUsers([]hub.User{office, c1, c2})
	if err != nil {
		t.Fatal(err)
	}
	users, err := hub.ParseUsers("users.toml", data)
	if err != nil || len(users) != 3 || users[2].NKey != c2.NKey {
		t.Fatalf("round trip: %+v %v", users, err)
	}
	for _, bad := range []string{
		"[[user]]\nsite = \"a\"\nrole = \"field-office\"\n",
		"[[user]]\nsite = \"a\"\nrole = \"boss\"\npassword = \"x\"\n",
		"[[user]]\nsite = \"a\"\nrole = \"central\"\npassword = \"x\"\ncolour = 1\n",
		"[[user]]\nsite = \"a\"\nrole = \"central\"\npassword = \"x\"\n[[user]]\nsite = \"a\"\nrole = \"field-office\"\nnkey = \"" + office.NKey + "\"\n",
	} {
		if _, err := hub.ParseUsers("users.toml", []byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := hub.Start(ctx, hub.Options{StoreDir: t.TempDir(), Users: users}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// Both central hosts connect with their own seeds as site "central".
	for _, seed := range []string{"c1.nk", "c2.nk"} {
		c, err := network.Connect(ctx, network.ConnOptions{URLs: []string{h.ClientURL()}, Site: "central", Role: network.RoleCentral, NKeySeedFile: filepath.Join(dir, seed)}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		if err := network.EnsureStreams(ctx, c.JS, network.StreamOptions{}); err != nil {
			t.Fatalf("central with %s: %v", seed, err)
		}
		c.Close()
	}
}

func FuzzParseUsers(f *testing.F) {
	f.Add([]byte("[[user]]\nsite = \"a\"\nrole = \"central\"\npassword = \"x\"\n"))
	f.Add([]byte("[[user]]\nsite = \"o\"\nrole = \"field-office\"\ntls_identity = \"CN=o\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := hub.ParseUsers("f.toml", data)
		if err != nil {
			return
		}
		if _, err := hub.RenderConfig(users); err != nil {
			t.Fatalf("parsed users do not render: %v", err)
		}
	})
}

// selfSigned returns a TLS server config for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, pool
}

func TestTLSHubWithLocalSite(t *testing.T) {
	srvTLS, pool := selfSigned(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := hub.Start(ctx, hub.Options{StoreDir: t.TempDir(), Users: testUsers, TLS: srvTLS,
		Local: []hub.LocalSite{{Site: "central-0", Role: network.RoleCentral}}}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// The embedding station, in-process.
	co, ok := h.ConnOptions("central-0")
	if !ok {
		t.Fatal("no local site")
	}
	c, err := network.Connect(ctx, co, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if err := network.EnsureStreams(ctx, c.JS, network.StreamOptions{}); err != nil {
		t.Fatalf("local site: %v", err)
	}
	// A remote office over TLS.
	o, err := network.Connect(ctx, network.ConnOptions{URLs: []string{h.ClientURL()}, Site: "office-a", Role: network.RoleFieldOffice,
		User: "office-a", Password: "pa", TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if !o.NC.TLSRequired() {
		t.Error("connection not over TLS")
	}
	if _, err := o.JS.Publish(ctx, network.RequestSubject("office-a", "T1"), []byte("x")); err != nil {
		t.Fatalf("office over TLS: %v", err)
	}
}

// TestStartWarnsOfNothingChosen: a hub whose users all use NKeys, with a
// local site, starts without a warning (its own internal users' passwords
// reach the server as bcrypt hashes; the large max_payload is the
// network's choice), so a demo or a station's log stays clean.
func TestStartWarnsOfNothingChosen(t *testing.T) {
	dir := t.TempDir()
	office, err := hub.NewNKeyUser("office-n", network.RoleFieldOffice, filepath.Join(dir, "office-n.nk"))
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := hub.Start(ctx, hub.Options{StoreDir: t.TempDir(), Users: []hub.User{office}, DontListen: true,
		Local: []hub.LocalSite{{Site: "central", Role: network.RoleCentral}}}, log)
	if err != nil {
		t.Fatal(err)
	}
	// The local site still connects with its plain password.
	co, ok := h.ConnOptions("central")
	if !ok {
		t.Fatal("no connection options for the local site")
	}
	c, err := network.Connect(ctx, co, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	h.Close()
	if logs.Len() != 0 {
		t.Errorf("hub start warned:\n%s", logs.String())
	}
}
