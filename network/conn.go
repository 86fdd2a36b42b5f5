package network

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ConnOptions say how a site connects to the hub.
type ConnOptions struct {
	// URLs are the hub's servers (nats://HOST:PORT or tls://HOST:PORT).
	URLs []string
	// Site is this site's name; Role its role.
	Site string
	Role Role
	// User and Password authenticate with a password; NKeySeedFile with
	// an NKey (the file holds the user's seed); CredsFile with a NATS
	// credentials file. At most one of them.
	User, Password string
	NKeySeedFile   string
	CredsFile      string
	// CAFile verifies the hub's certificate; CertFile and KeyFile are a
	// TLS client certificate. TLSConfig, when set, is used as it is.
	CAFile, CertFile, KeyFile string
	TLSConfig                 *tls.Config
	// InProcess connects to an embedded hub without a socket.
	InProcess nats.InProcessConnProvider
	// ReconnectWait is the pause between reconnection attempts (default
	// 1s). A site keeps trying for ever: a WAN may be down for hours.
	ReconnectWait time.Duration
}

// usesTLS reports whether the options configure TLS.
func (o *ConnOptions) usesTLS() bool {
	if o.TLSConfig != nil || o.CAFile != "" || o.CertFile != "" {
		return true
	}
	for _, u := range o.URLs {
		if strings.HasPrefix(u, "tls://") {
			return true
		}
	}
	return false
}

// Check validates the options: a site name and role, at least one URL (or
// an in-process hub), one way to authenticate at most, and TLS for any
// server off loopback.
func (o *ConnOptions) Check() error {
	if err := SiteName(o.Site); err != nil {
		return err
	}
	if err := o.Role.Valid(); err != nil {
		return err
	}
	if len(o.URLs) == 0 && o.InProcess == nil {
		return fmt.Errorf("%w: no hub URL", ErrInvalid)
	}
	n := 0
	for _, set := range []bool{o.User != "" || o.Password != "", o.NKeySeedFile != "", o.CredsFile != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("%w: give one of user/password, nkey seed file and credentials file", ErrInvalid)
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return fmt.Errorf("%w: a TLS client certificate needs both a certificate and a key file", ErrInvalid)
	}
	for _, raw := range o.URLs {
		if err := CheckURL(raw, o.usesTLS()); err != nil {
			return err
		}
	}
	return nil
}

// CheckURL checks one hub URL: scheme nats or tls, a host and a port, and
// TLS (withTLS) unless the host is a loopback address.
func CheckURL(raw string, withTLS bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: hub URL %q: %v", ErrInvalid, clip(raw), err)
	}
	if u.Scheme != "nats" && u.Scheme != "tls" {
		return fmt.Errorf("%w: hub URL %q: scheme must be nats or tls", ErrInvalid, clip(raw))
	}
	host := u.Hostname()
	if host == "" || u.Port() == "" {
		return fmt.Errorf("%w: hub URL %q: needs HOST:PORT", ErrInvalid, clip(raw))
	}
	if !withTLS && !IsLoopback(host) {
		return fmt.Errorf("%w: hub URL %q: TLS is required off loopback (use tls:// or set a CA file)", ErrInvalid, clip(raw))
	}
	return nil
}

// IsLoopback reports whether host (a name or an address) is loopback.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Conn is a site's connection to the hub.
type Conn struct {
	NC   *nats.Conn
	JS   jetstream.JetStream
	Site string
	Role Role
	log  *slog.Logger
}

// Connect connects site to the hub. It returns at once even when the hub
// is unreachable: the connection keeps retrying in the background (the
// outbox and the consumers wait for it), so a field office starts and
// prints while its WAN link is down.
func Connect(ctx context.Context, o ConnOptions, log *slog.Logger) (*Conn, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := o.Check(); err != nil {
		return nil, fmt.Errorf("network: connect %s: %w", o.Site, err)
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = time.Second
	}
	log = log.With("site", o.Site)
	opts := []nats.Option{
		nats.Name("cardd " + string(o.Role) + " " + o.Site),
		nats.CustomInboxPrefix(InboxPrefix(o.Site)),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(o.ReconnectWait),
		nats.Timeout(10 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("hub connection lost", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("hub connection back", "server", nc.ConnectedUrlRedacted()) }),
		nats.ConnectHandler(func(nc *nats.Conn) { log.Info("connected to hub", "server", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("hub error", "subject", subj, "err", err)
		}),
	}
	switch {
	case o.User != "" || o.Password != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	case o.NKeySeedFile != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("network: connect %s: nkey seed %s: %w", o.Site, o.NKeySeedFile, err)
		}
		opts = append(opts, opt)
	case o.CredsFile != "":
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.TLSConfig != nil {
		opts = append(opts, nats.Secure(o.TLSConfig))
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.CAFile))
	}
	if o.CertFile != "" {
		opts = append(opts, nats.ClientCert(o.CertFile, o.KeyFile))
	}
	if o.InProcess != nil {
		opts = append(opts, nats.InProcessServer(o.InProcess))
	}
	nc, err := nats.Connect(strings.Join(o.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("network: connect %s to %s: %w", o.Site, strings.Join(o.URLs, ","), err)
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(10*time.Second))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("network: connect %s: %w", o.Site, err)
	}
	return &Conn{NC: nc, JS: js, Site: o.Site, Role: o.Role, log: log}, nil
}

// Close drains nothing and closes the connection.
func (c *Conn) Close() {
	if c != nil && c.NC != nil {
		c.NC.Close()
	}
}

// WaitConnected waits until the connection is up or ctx ends.
func (c *Conn) WaitConnected(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !c.NC.IsConnected() {
		if c.NC.IsClosed() {
			return errors.New("network: connection closed")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("network: %s waiting for the hub: %w", c.Site, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}
