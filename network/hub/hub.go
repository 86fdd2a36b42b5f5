// Package hub runs the issuance network's hub: a NATS server with
// JetStream, embedded in a cardd daemon (or in a test), with one user per
// site whose permissions come from network.PermissionsFor, and the
// network's streams and buckets set up. RenderConfig writes the same users
// and permissions as a nats-server configuration fragment for a hub run as
// a separate (clustered) nats-server.
package hub

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/cardd/cardd/network"
)

// User is one site's account on the hub.
type User struct {
	// Name is the site's name (network.SiteName), also its NATS user name.
	Name string
	// Role decides the permissions.
	Role network.Role
	// Password authenticates the site by password: plain text, or a
	// bcrypt hash ("$2a$…") that nats-server checks against the password
	// the site sends. Leave it empty when NKey is set.
	Password string
	// NKey is the site's public NKey (starting with 'U') for NKey
	// authentication instead of a password.
	NKey string
}

// Check validates the user.
func (u *User) Check() error {
	if err := network.SiteName(u.Name); err != nil {
		return err
	}
	if err := u.Role.Valid(); err != nil {
		return fmt.Errorf("user %s: %w", u.Name, err)
	}
	switch {
	case u.Password == "" && u.NKey == "":
		return fmt.Errorf("%w: user %s: needs a password or an nkey", network.ErrInvalid, u.Name)
	case u.Password != "" && u.NKey != "":
		return fmt.Errorf("%w: user %s: give a password or an nkey, not both", network.ErrInvalid, u.Name)
	case u.NKey != "" && (!strings.HasPrefix(u.NKey, "U") || len(u.NKey) != 56):
		return fmt.Errorf("%w: user %s: nkey must be a user public key (56 characters starting with U)", network.ErrInvalid, u.Name)
	}
	return nil
}

// checkUsers validates users and that their names are unique.
func checkUsers(users []User) error {
	seen := map[string]bool{}
	for i := range users {
		if err := users[i].Check(); err != nil {
			return err
		}
		if seen[users[i].Name] {
			return fmt.Errorf("%w: user %s listed twice", network.ErrInvalid, users[i].Name)
		}
		seen[users[i].Name] = true
	}
	return nil
}

// serverPermissions converts a site's permissions to the server's type.
func serverPermissions(p network.Permissions) *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: p.Publish},
		Subscribe: &server.SubjectPermission{Allow: p.Subscribe},
	}
}

// ServerUsers returns users as the server's password users and NKey users.
func ServerUsers(users []User) ([]*server.User, []*server.NkeyUser, error) {
	if err := checkUsers(users); err != nil {
		return nil, nil, err
	}
	var pw []*server.User
	var nk []*server.NkeyUser
	for _, u := range users {
		p, err := network.PermissionsFor(u.Name, u.Role)
		if err != nil {
			return nil, nil, err
		}
		if u.NKey != "" {
			nk = append(nk, &server.NkeyUser{Nkey: u.NKey, Permissions: serverPermissions(p)})
			continue
		}
		pw = append(pw, &server.User{Username: u.Name, Password: u.Password, Permissions: serverPermissions(p)})
	}
	return pw, nk, nil
}

// Options configure an embedded hub.
type Options struct {
	// Host is the address to listen on (default 127.0.0.1); Port the
	// port (0: any free port). Off loopback, TLS is required.
	Host string
	Port int
	// StoreDir is JetStream's store directory (required).
	StoreDir string
	// ServerName names the server (default "cardd-hub").
	ServerName string
	// Users are the sites allowed in.
	Users []User
	// TLS, when set, makes the hub require TLS of every client; with
	// ClientCAs set it also verifies client certificates.
	TLS *tls.Config
	// Streams sizes the streams and buckets the hub sets up.
	Streams network.StreamOptions
	// DontListen serves in-process connections only (tests, a demo in
	// one process).
	DontListen bool
}

// Hub is a running embedded hub.
type Hub struct {
	srv   *server.Server
	admin network.ConnOptions
	log   *slog.Logger
}

// hubSite is the name of the hub's own central user, with which it sets
// up the streams; its password is random per start.
const hubSite = "cardd-hub"

// Start starts the hub and sets up the network's streams and buckets. It
// refuses to listen off loopback without TLS.
func Start(ctx context.Context, o Options, log *slog.Logger) (*Hub, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.ServerName == "" {
		o.ServerName = "cardd-hub"
	}
	if o.StoreDir == "" {
		return nil, fmt.Errorf("hub: %w: no store directory", network.ErrInvalid)
	}
	if !o.DontListen && o.TLS == nil && !network.IsLoopback(o.Host) {
		return nil, fmt.Errorf("hub: %w: listening on %s needs TLS (only loopback may go without)", network.ErrInvalid, o.Host)
	}
	for _, u := range o.Users {
		if u.Name == hubSite {
			return nil, fmt.Errorf("hub: %w: user name %s is the hub's own", network.ErrInvalid, hubSite)
		}
	}
	pass := make([]byte, 24)
	if _, err := rand.Read(pass); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	admin := User{Name: hubSite, Role: network.RoleCentral, Password: hex.EncodeToString(pass)}
	users, nkeys, err := ServerUsers(append([]User{admin}, o.Users...))
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	if err := os.MkdirAll(o.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("hub: store directory: %w", err)
	}
	port := o.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	sopts := &server.Options{
		ServerName:             o.ServerName,
		Host:                   o.Host,
		Port:                   port,
		DontListen:             o.DontListen,
		JetStream:              true,
		StoreDir:               o.StoreDir,
		Users:                  users,
		Nkeys:                  nkeys,
		MaxPayload:             network.MaxPayload,
		NoSigs:                 true,
		DisableJetStreamBanner: true,
	}
	if o.TLS != nil {
		sopts.TLS = true
		sopts.TLSConfig = o.TLS
		sopts.TLSVerify = o.TLS.ClientCAs != nil
		sopts.TLSTimeout = 5
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	srv.SetLoggerV2(slogLogger{log.With("part", "hub")}, false, false, false)
	go srv.Start()
	if !srv.ReadyForConnections(2 * time.Minute) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("hub: server not ready (port %d in use?)", o.Port)
	}
	h := &Hub{srv: srv, log: log, admin: network.ConnOptions{Site: hubSite, Role: network.RoleCentral, User: hubSite, Password: admin.Password, InProcess: srv, URLs: []string{"nats://127.0.0.1:4222"}}}
	if err := h.setup(ctx, o.Streams); err != nil {
		h.Close()
		return nil, err
	}
	log.Info("hub running", "url", h.ClientURL(), "store", o.StoreDir, "users", len(o.Users))
	return h, nil
}

// setup creates the streams and buckets through an in-process connection.
func (h *Hub) setup(ctx context.Context, so network.StreamOptions) error {
	c, err := network.Connect(ctx, h.admin, h.log)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer c.Close()
	if err := c.WaitConnected(ctx); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := network.EnsureStreams(ctx, c.JS, so); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// ClientURL is the URL sites connect to.
func (h *Hub) ClientURL() string { return h.srv.ClientURL() }

// Port is the port the hub listens on (0 with DontListen).
func (h *Hub) Port() int {
	if a, ok := h.srv.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// Server is the embedded server, for in-process connections
// (network.ConnOptions.InProcess).
func (h *Hub) Server() *server.Server { return h.srv }

// Close shuts the server down and waits for it.
func (h *Hub) Close() {
	if h == nil || h.srv == nil {
		return
	}
	h.srv.Shutdown()
	h.srv.WaitForShutdown()
}

// slogLogger passes the server's log lines to slog.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l slogLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l slogLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l slogLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l slogLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l slogLogger) Tracef(format string, v ...any)  {}
