package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// Role is a station's part in the issuance network.
type Role string

// The network roles.
const (
	// RoleFieldOffice prints temporary cards on the spot and forwards a
	// request for the permanent card to the hub.
	RoleFieldOffice Role = "field-office"
	// RoleCentral takes permanent requests from the hub's shared work
	// queue and prints them in batches; any number of central hosts share
	// one central site.
	RoleCentral Role = "central"
)

// DefaultHubListen is the default listen address of an embedded hub
// (NATS's usual client port, on loopback).
const DefaultHubListen = "127.0.0.1:4222"

// MaxReplicas is the largest stream replication factor JetStream allows.
const MaxReplicas = 5

// Network joins the station to the issuance network: field offices and the
// central facility exchanging requests, outcomes, revocations and audit
// checkpoints through a NATS JetStream hub. A configuration without a
// [network] table leaves Config.Network nil, and the station works alone,
// exactly as without a network.
type Network struct {
	// Site is this site's name in subjects and permissions: 1–32 letters,
	// digits, '-' or '_'. A field office defaults to station.id; the
	// central facility's hosts share one site name, which must be given.
	Site string `toml:"site"`
	// Role is field-office or central. Required.
	Role Role `toml:"role"`
	// HubURLs are the hub's client URLs (nats://HOST:PORT or
	// tls://HOST:PORT), one per node of a clustered hub. Empty only with
	// EmbeddedHub, when the station connects to its own hub. A URL that is
	// not loopback requires TLS (tls://, TLSCA or TLSCert) and an identity
	// (Credentials, NKeySeed or TLSCert).
	HubURLs []string `toml:"hub_urls"`
	// Credentials is a NATS user credentials file (JWT and NKey seed).
	Credentials string `toml:"credentials"`
	// NKeySeed is a file holding the user's NKey seed; an alternative to
	// Credentials.
	NKeySeed string `toml:"nkey_seed"`
	// TLSCert and TLSKey are this station's TLS client certificate and key
	// (PEM) for the hub; they go together.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// TLSCA is the CA bundle (PEM) that signed the hub's certificate.
	TLSCA string `toml:"tls_ca"`
	// EmbeddedHub runs a JetStream server inside the daemon (a demo, a
	// test, or a one-host central site).
	EmbeddedHub bool `toml:"embedded_hub"`
	// HubListen is the embedded hub's client listen address, HOST:PORT
	// (port 0 picks a free one). Off loopback it requires HubTLSCert and
	// HubTLSKey.
	HubListen string `toml:"hub_listen"`
	// HubStore is the embedded hub's JetStream store directory; default
	// State/hub.
	HubStore string `toml:"hub_store"`
	// HubUsers is the embedded hub's users file (TOML, one [[user]] per
	// credential: site, role and one of nkey, password, tls_identity),
	// listing the other sites allowed in. The station itself needs no
	// entry: it talks to its own hub in-process.
	HubUsers string `toml:"hub_users"`
	// HubTLSCert and HubTLSKey are the embedded hub's server certificate
	// and key (PEM).
	HubTLSCert string `toml:"hub_tls_cert"`
	HubTLSKey  string `toml:"hub_tls_key"`
	// HubTLSCA is a CA bundle (PEM); when set, the embedded hub requires
	// client certificates it signed.
	HubTLSCA string `toml:"hub_tls_ca"`
	// Replicas is how many hub nodes keep each stream and bucket this
	// station creates: 1 for a single server, 3 for a 3-node cluster
	// (at most 5).
	Replicas int `toml:"replicas"`
	// VoidTemporaryOnPermanent makes a field office void and revoke a
	// person's temporary card once the central facility reports the
	// permanent card printed. Ignored at a central site.
	VoidTemporaryOnPermanent bool `toml:"void_temporary_on_permanent"`
}

// DefaultNetwork returns the values a [network] table starts from.
func DefaultNetwork() *Network {
	return &Network{
		HubListen:                DefaultHubListen,
		Replicas:                 1,
		VoidTemporaryOnPermanent: true,
	}
}

func (n *Network) applyDefaults() { *n = *DefaultNetwork() }

// HubURLNeedsTLS reports whether the hub URL u (as in HubURLs) points
// off this machine, so that TLS is required to reach it.
func HubURLNeedsTLS(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return true
	}
	return !isLoopbackHost(pu.Hostname())
}

// UsesTLS reports whether the station's connection to the hub is
// encrypted: a tls:// URL, a CA bundle or a client certificate.
func (n *Network) UsesTLS() bool {
	if n.TLSCA != "" || n.TLSCert != "" {
		return true
	}
	if len(n.HubURLs) == 0 {
		return false
	}
	for _, u := range n.HubURLs {
		if !strings.HasPrefix(strings.ToLower(u), "tls://") {
			return false
		}
	}
	return true
}

// HubIsLoopback reports whether the embedded hub listens on this machine
// only.
func (n *Network) HubIsLoopback() bool {
	host, _, err := net.SplitHostPort(n.HubListen)
	return err == nil && isLoopbackHost(host)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (n *Network) resolve(c *Config, abs func(*string)) {
	if n.Site == "" && n.Role == RoleFieldOffice && validName(c.Station.ID) {
		n.Site = c.Station.ID
	}
	if n.HubStore == "" && c.Paths.State != "" {
		n.HubStore = filepath.Join(c.Paths.State, "hub")
	}
	for _, p := range []*string{&n.Credentials, &n.NKeySeed, &n.TLSCert, &n.TLSKey, &n.TLSCA,
		&n.HubStore, &n.HubUsers, &n.HubTLSCert, &n.HubTLSKey, &n.HubTLSCA} {
		abs(p)
	}
}

func (n *Network) validate(v *validator, path string, st *Station) {
	v.oneOf(path+".role", string(n.Role), string(RoleFieldOffice), string(RoleCentral))
	switch {
	case n.Site == "" && n.Role == RoleCentral:
		v.add(path+".site", "required at a central site: its hosts share one site name (station.id names each host)")
	case n.Site == "" && n.Role == RoleFieldOffice:
		v.add(path+".site", "required (it defaults to station.id, which is not usable)")
	case n.Site != "" && !validName(n.Site):
		v.add(path+".site", "%q must be 1–32 letters, digits, '-' or '_', starting with a letter or digit (it is a subject token)", n.Site)
	}
	switch {
	case n.Role == RoleCentral && st.Mode != ModePermanent:
		v.add(path+".role", "central needs station.mode = \"permanent\" (a central host prints in batches), not %q", st.Mode)
	case n.Role == RoleFieldOffice && st.Mode != ModeTemporary:
		v.add(path+".role", "field-office needs station.mode = \"temporary\" (permanent cards are printed centrally), not %q", st.Mode)
	}

	if len(n.HubURLs) == 0 && !n.EmbeddedHub {
		v.add(path+".hub_urls", "required unless embedded_hub = true (nats://HOST:PORT or tls://HOST:PORT of each hub node)")
	}
	offLoopback := ""
	seen := map[string]int{}
	for i, u := range n.HubURLs {
		ip := fmt.Sprintf("%s.hub_urls[%d]", path, i)
		if err := checkHubURL(u); err != nil {
			v.add(ip, "%q: %v", u, err)
			continue
		}
		if j, dup := seen[u]; dup {
			v.add(ip, "%q listed twice (also hub_urls[%d])", u, j)
		}
		seen[u] = i
		if offLoopback == "" && HubURLNeedsTLS(u) {
			offLoopback = u
		}
	}
	if offLoopback != "" {
		if !n.UsesTLS() {
			v.add(path+".hub_urls", "%q is not a loopback address: use tls:// URLs or set tls_ca", offLoopback)
		}
		if n.Credentials == "" && n.NKeySeed == "" && n.TLSCert == "" {
			v.add(path+".credentials", "credentials, nkey_seed or tls_cert is required when a hub URL (%q) is not a loopback address", offLoopback)
		}
	}
	if n.Credentials != "" && n.NKeySeed != "" {
		v.add(path+".nkey_seed", "credentials and nkey_seed are alternatives; set one")
	}
	if (n.TLSCert == "") != (n.TLSKey == "") {
		v.add(path+".tls_key", "tls_cert and tls_key go together")
	}

	if n.EmbeddedHub {
		if err := checkListen(n.HubListen); err != nil {
			v.add(path+".hub_listen", "%v", err)
		} else if !n.HubIsLoopback() {
			for _, kv := range [][2]string{{"hub_tls_cert", n.HubTLSCert}, {"hub_tls_key", n.HubTLSKey}} {
				if kv[1] == "" {
					v.add(path+"."+kv[0], "required when hub_listen (%q) is not a loopback address", n.HubListen)
				}
			}
		}
		v.required(path+".hub_store", n.HubStore)
	}
	if (n.HubTLSCert == "") != (n.HubTLSKey == "") {
		v.add(path+".hub_tls_key", "hub_tls_cert and hub_tls_key go together")
	}
	if n.HubUsers != "" && !n.EmbeddedHub {
		v.add(path+".hub_users", "set but embedded_hub is false (a separate hub takes its users from its own configuration)")
	}
	if n.HubTLSCA != "" && n.HubTLSCert == "" {
		v.add(path+".hub_tls_ca", "set but the embedded hub has no hub_tls_cert")
	}
	if n.Replicas < 1 || n.Replicas > MaxReplicas {
		v.add(path+".replicas", "%d is not between 1 and %d", n.Replicas, MaxReplicas)
	}
}

// checkHubURL accepts nats://HOST:PORT and tls://HOST:PORT without user
// information, path, query or fragment.
func checkHubURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL")
	}
	switch u.Scheme {
	case "nats", "tls":
	default:
		return fmt.Errorf("want nats://HOST:PORT or tls://HOST:PORT")
	}
	if u.User != nil {
		return fmt.Errorf("user information does not belong in the URL: use credentials or nkey_seed")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return fmt.Errorf("want nats://HOST:PORT or tls://HOST:PORT, without a path or query")
	}
	if u.Hostname() == "" {
		return fmt.Errorf("no host")
	}
	port := u.Port()
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// checkListen accepts HOST:PORT with a port from 0 to 65535.
func checkListen(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}
