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
	"golang.org/x/crypto/bcrypt"

	"github.com/cardd/cardd/network"
)

// User is one credential of a site on the hub. A site may have several
// (the hosts of a central site each with their own NKey or certificate);
// they all get the site's permissions.
type User struct {
	// Name is the site's name (network.SiteName); with a password it is
	// also the NATS user name.
	Name string
	// Role decides the permissions.
	Role network.Role
	// Password authenticates the site by password: plain text, or a
	// bcrypt hash ("$2a$…") that nats-server checks against the password
	// the site sends.
	Password string
	// NKey is a public user NKey (56 characters starting with 'U'): the
	// site proves it holds the seed.
	NKey string
	// TLSIdentity is the subject of the site's TLS client certificate as
	// the server prints it (RFC 2253, e.g. "CN=office-north,O=Issuer"),
	// or an e-mail or DNS name of the certificate: the hub maps a
	// verified certificate to this user (verify_and_map).
	TLSIdentity string
}

// credential says which credential u has and its value.
func (u *User) credential() (kind, value string) {
	switch {
	case u.NKey != "":
		return "nkey", u.NKey
	case u.TLSIdentity != "":
		return "tls_identity", u.TLSIdentity
	}
	return "password", u.Name
}

// Check validates the user.
func (u *User) Check() error {
	if err := network.SiteName(u.Name); err != nil {
		return err
	}
	if err := u.Role.Valid(); err != nil {
		return fmt.Errorf("user %s: %w", u.Name, err)
	}
	n := 0
	for _, v := range []string{u.Password, u.NKey, u.TLSIdentity} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return fmt.Errorf("%w: user %s: needs a password, an nkey or a tls_identity", network.ErrInvalid, u.Name)
	case n > 1:
		return fmt.Errorf("%w: user %s: give one of password, nkey and tls_identity", network.ErrInvalid, u.Name)
	case u.NKey != "" && (!strings.HasPrefix(u.NKey, "U") || len(u.NKey) != 56):
		return fmt.Errorf("%w: user %s: nkey must be a user public key (56 characters starting with U)", network.ErrInvalid, u.Name)
	case strings.ContainsAny(u.TLSIdentity, "\n\"\x00"):
		return fmt.Errorf("%w: user %s: tls_identity has a quote, newline or NUL", network.ErrInvalid, u.Name)
	}
	return nil
}

// checkUsers validates users: each credential once, one role per site.
func checkUsers(users []User) error {
	seen := map[string]bool{}
	roles := map[string]network.Role{}
	for i := range users {
		u := &users[i]
		if err := u.Check(); err != nil {
			return err
		}
		kind, v := u.credential()
		if seen[kind+"\x00"+v] {
			return fmt.Errorf("%w: user %s: %s listed twice", network.ErrInvalid, u.Name, kind)
		}
		seen[kind+"\x00"+v] = true
		if r, ok := roles[u.Name]; ok && r != u.Role {
			return fmt.Errorf("%w: site %s has users of two roles (%s, %s)", network.ErrInvalid, u.Name, r, u.Role)
		}
		roles[u.Name] = u.Role
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
		switch {
		case u.NKey != "":
			nk = append(nk, &server.NkeyUser{Nkey: u.NKey, Permissions: serverPermissions(p)})
		case u.TLSIdentity != "":
			pw = append(pw, &server.User{Username: u.TLSIdentity, Permissions: serverPermissions(p)})
		default:
			pw = append(pw, &server.User{Username: u.Name, Password: u.Password, Permissions: serverPermissions(p)})
		}
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
	// Local are sites that run in the hub's own process (the station that
	// embeds it): each gets an internal user with a random password,
	// reachable only in-process (ConnOptions).
	Local []LocalSite
}

// LocalSite is a site in the hub's own process.
type LocalSite struct {
	Site string
	Role network.Role
}

// Hub is a running embedded hub.
type Hub struct {
	srv   *server.Server
	admin network.ConnOptions
	local map[string]network.ConnOptions
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
	adminPass := hex.EncodeToString(pass)
	adminHash, err := internalHash(adminPass)
	if err != nil {
		return nil, err
	}
	admin := User{Name: hubSite, Role: network.RoleCentral, Password: adminHash}
	users, nkeys, err := ServerUsers(append([]User{admin}, o.Users...))
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	local := map[string]network.ConnOptions{}
	for _, ls := range o.Local {
		p, err := network.PermissionsFor(ls.Site, ls.Role)
		if err != nil {
			return nil, fmt.Errorf("hub: local site: %w", err)
		}
		if _, dup := local[ls.Site]; dup {
			return nil, fmt.Errorf("hub: %w: local site %s twice", network.ErrInvalid, ls.Site)
		}
		if _, err := rand.Read(pass); err != nil {
			return nil, fmt.Errorf("hub: %w", err)
		}
		// A user name no users file can hold (':' is not in a site name).
		name, pw := "local:"+ls.Site, hex.EncodeToString(pass)
		hash, err := internalHash(pw)
		if err != nil {
			return nil, err
		}
		users = append(users, &server.User{Username: name, Password: hash, Permissions: serverPermissions(p)})
		local[ls.Site] = network.ConnOptions{Site: ls.Site, Role: ls.Role, User: name, Password: pw}
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
	for _, u := range o.Users {
		if u.TLSIdentity != "" {
			if o.TLS == nil || o.TLS.ClientCAs == nil {
				return nil, fmt.Errorf("hub: %w: user %s has a tls_identity but the hub verifies no client certificates", network.ErrInvalid, u.Name)
			}
			// Certificates map to users; the in-process setup user
			// still authenticates with its password.
			sopts.TLSMap = true
		}
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
	for site, co := range local {
		co.InProcess = srv
		co.URLs = []string{"nats://127.0.0.1:4222"} // unused: in-process
		local[site] = co
	}
	h := &Hub{srv: srv, log: log, local: local, admin: network.ConnOptions{Site: hubSite, Role: network.RoleCentral, User: hubSite, Password: adminPass, InProcess: srv, URLs: []string{"nats://127.0.0.1:4222"}}}
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

// ConnOptions returns the in-process connection options of a local
// site (Options.Local).
func (h *Hub) ConnOptions(site string) (network.ConnOptions, bool) {
	co, ok := h.local[site]
	return co, ok
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

// internalHash is the bcrypt hash the server is given for one of the
// hub's internal users' random passwords (the connection keeps the plain
// one), so that the server holds no plain-text password of its own and
// does not warn of one. The passwords are 24 random bytes, so the
// cheapest cost is enough; it keeps an in-process connection's
// authentication under a millisecond or so.
func internalHash(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return "", fmt.Errorf("hub: internal password: %w", err)
	}
	return string(h), nil
}

// chosenWarnings are nats-server's start-up warnings about settings the
// network chose on purpose; they are logged at info level. The maximum
// payload is above nats-server's advice of 8 MB because a request
// carries a photo up to the spool's 8 MiB limit (network.MaxPayload).
var chosenWarnings = []string{"Maximum payloads over "}

// slogLogger passes the server's log lines to slog.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l slogLogger) Warnf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	for _, p := range chosenWarnings {
		if strings.HasPrefix(msg, p) {
			l.log.Info(msg)
			return
		}
	}
	l.log.Warn(msg)
}
func (l slogLogger) Fatalf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
func (l slogLogger) Errorf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
func (l slogLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l slogLogger) Tracef(format string, v ...any) {}
