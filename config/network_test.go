package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// office is a valid field-office file.
const office = minimal + `
[network]
role = "field-office"
hub_urls = ["nats://127.0.0.1:4222"]
`

// central is a valid central-host file.
const central = `[station]
id = "c1"
mode = "permanent"

[[printers]]
name = "p1"
driver = "evolis"
connection = "tcp:127.0.0.1:9100"

[network]
site = "central"
role = "central"
hub_urls = ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223", "nats://127.0.0.1:4224"]
replicas = 3
`

func TestNoNetworkSection(t *testing.T) {
	c := mustParse(t, filepath.Join(t.TempDir(), "s.toml"), minimal)
	if c.Network != nil {
		t.Errorf("a file without [network] has Network = %+v, want nil", c.Network)
	}
	def, err := Embedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if def.Network != nil {
		t.Errorf("the embedded default enables the network: %+v", def.Network)
	}
	data, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "network") {
		t.Errorf("Marshal writes a network table for a station without one:\n%s", data)
	}
}

func TestNetworkDefaults(t *testing.T) {
	dir := t.TempDir()
	c := mustParse(t, filepath.Join(dir, "s.toml"), office)
	want := &Network{
		Site:                     "s1", // station.id
		Role:                     RoleFieldOffice,
		HubURLs:                  []string{"nats://127.0.0.1:4222"},
		HubListen:                DefaultHubListen,
		HubStore:                 filepath.Join(dir, "state", "hub"),
		Replicas:                 1,
		VoidTemporaryOnPermanent: true,
	}
	if !reflect.DeepEqual(c.Network, want) {
		t.Errorf("network = %+v\nwant      %+v", c.Network, want)
	}

	c = mustParse(t, filepath.Join(dir, "c.toml"), central)
	if c.Network.Site != "central" || c.Network.Role != RoleCentral || c.Network.Replicas != 3 || len(c.Network.HubURLs) != 3 {
		t.Errorf("central network = %+v", c.Network)
	}

	// An embedded hub needs no URLs; its store and the credential files
	// resolve against the file's directory.
	c = mustParse(t, filepath.Join(dir, "etc", "e.toml"), minimal+`
[paths]
state = "/var/lib/cardd"

[network]
role = "field-office"
site = "north"
embedded_hub = true
hub_listen = "127.0.0.1:0"
credentials = "keys/north.creds"
tls_ca = "/etc/ssl/hub-ca.pem"
void_temporary_on_permanent = false
`)
	n := c.Network
	if n.HubStore != "/var/lib/cardd/hub" || n.Credentials != filepath.Join(dir, "etc", "keys", "north.creds") ||
		n.TLSCA != "/etc/ssl/hub-ca.pem" || n.Site != "north" || !n.EmbeddedHub || n.VoidTemporaryOnPermanent {
		t.Errorf("embedded-hub network = %+v", n)
	}
}

func TestNetworkTLS(t *testing.T) {
	dir := t.TempDir()
	// Off loopback with TLS and an identity: accepted.
	for name, extra := range map[string]string{
		"tls URLs and creds":             "hub_urls = [\"tls://hub1.example:4222\", \"tls://10.1.2.3:4222\"]\ncredentials = \"a.creds\"\n",
		"nats URL with a CA and an nkey": "hub_urls = [\"nats://hub.example:4222\"]\ntls_ca = \"ca.pem\"\nnkey_seed = \"a.nk\"\n",
		"client certificate":             "hub_urls = [\"nats://hub.example:4222\"]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
		"embedded hub off loopback":      "embedded_hub = true\nhub_listen = \"0.0.0.0:4222\"\nhub_tls_cert = \"h.pem\"\nhub_tls_key = \"hk.pem\"\nhub_tls_ca = \"ca.pem\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			c := mustParse(t, filepath.Join(dir, "s.toml"), minimal+"\n[network]\nrole = \"field-office\"\n"+extra)
			if c.Network.EmbeddedHub && c.Network.HubIsLoopback() {
				t.Errorf("hub_listen %q taken for loopback", c.Network.HubListen)
			}
		})
	}
	for _, tt := range []struct {
		url  string
		want bool
	}{
		{"nats://127.0.0.1:4222", false},
		{"nats://localhost:4222", false},
		{"nats://[::1]:4222", false},
		{"tls://10.0.0.1:4222", true},
		{"nats://hub.example:4222", true},
		{"::bad", true},
	} {
		if got := HubURLNeedsTLS(tt.url); got != tt.want {
			t.Errorf("HubURLNeedsTLS(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestNetworkProblems(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{
			name: "role missing",
			text: minimal + "\n[network]\nhub_urls = [\"nats://127.0.0.1:4222\"]\n",
			want: []string{":10: network.role: required (one of field-office, central)"},
		},
		{
			name: "unknown role",
			text: minimal + "\n[network]\nrole = \"office\"\nhub_urls = [\"nats://127.0.0.1:4222\"]\n",
			want: []string{":11: network.role: \"office\" is not one of field-office, central"},
		},
		{
			name: "central without site",
			text: strings.Replace(central, "site = \"central\"\n", "", 1),
			want: []string{":10: network.site: required at a central site"},
		},
		{
			name: "site not a subject token",
			text: minimal + "\n[network]\nrole = \"field-office\"\nsite = \"north.*\"\nhub_urls = [\"nats://127.0.0.1:4222\"]\n",
			want: []string{":12: network.site: \"north.*\" must be 1–32 letters, digits, '-' or '_'"},
		},
		{
			name: "role against mode",
			text: strings.Replace(central, "mode = \"permanent\"", "mode = \"temporary\"", 1),
			want: []string{":12: network.role: central needs station.mode = \"permanent\""},
		},
		{
			name: "field office in permanent mode",
			text: strings.Replace(office, "[station]\n", "[station]\nmode = \"permanent\"\n", 1),
			want: []string{":12: network.role: field-office needs station.mode = \"temporary\""},
		},
		{
			name: "no hub",
			text: minimal + "\n[network]\nrole = \"field-office\"\n",
			want: []string{":10: network.hub_urls: required unless embedded_hub = true"},
		},
		{
			name: "off loopback without TLS or identity",
			text: minimal + "\n[network]\nrole = \"field-office\"\nhub_urls = [\"nats://127.0.0.1:4222\", \"nats://hub.example:4222\"]\n",
			want: []string{
				":10: network.credentials: credentials, nkey_seed or tls_cert is required when a hub URL (\"nats://hub.example:4222\") is not a loopback address",
				":12: network.hub_urls: \"nats://hub.example:4222\" is not a loopback address: use tls:// URLs or set tls_ca",
			},
		},
		{
			name: "mixed tls and nats URLs off loopback",
			text: minimal + "\n[network]\nrole = \"field-office\"\ncredentials = \"a.creds\"\nhub_urls = [\"tls://hub1.example:4222\", \"nats://hub2.example:4222\"]\n",
			want: []string{":13: network.hub_urls: \"tls://hub1.example:4222\" is not a loopback address: use tls:// URLs or set tls_ca"},
		},
		{
			name: "bad URLs",
			text: minimal + "\n[network]\nrole = \"field-office\"\nhub_urls = [\"http://127.0.0.1:4222\", \"nats://u:p@127.0.0.1:4222\", \"nats://127.0.0.1\", \"nats://127.0.0.1:4222/x\", \"nats://127.0.0.1:99999\", \"nats://:4222\"]\n",
			want: []string{
				":12: network.hub_urls[0]: \"http://127.0.0.1:4222\": want nats://HOST:PORT or tls://HOST:PORT",
				":12: network.hub_urls[1]: \"nats://u:p@127.0.0.1:4222\": user information does not belong in the URL",
				":12: network.hub_urls[2]: \"nats://127.0.0.1\": port \"\" is not a number from 1 to 65535",
				":12: network.hub_urls[3]: \"nats://127.0.0.1:4222/x\": want nats://HOST:PORT or tls://HOST:PORT, without a path",
				":12: network.hub_urls[4]: \"nats://127.0.0.1:99999\": port \"99999\" is not a number",
				":12: network.hub_urls[5]: \"nats://:4222\": no host",
			},
		},
		{
			name: "duplicate URL",
			text: minimal + "\n[network]\nrole = \"field-office\"\nhub_urls = [\"nats://127.0.0.1:4222\", \"nats://127.0.0.1:4222\"]\n",
			want: []string{":12: network.hub_urls[1]: \"nats://127.0.0.1:4222\" listed twice (also hub_urls[0])"},
		},
		{
			name: "credential pairs",
			text: minimal + "\n[network]\nrole = \"field-office\"\nhub_urls = [\"nats://127.0.0.1:4222\"]\ncredentials = \"a.creds\"\nnkey_seed = \"a.nk\"\ntls_cert = \"c.pem\"\nhub_tls_key = \"k.pem\"\nhub_tls_ca = \"ca.pem\"\n",
			want: []string{
				":10: network.tls_key: tls_cert and tls_key go together",
				":14: network.nkey_seed: credentials and nkey_seed are alternatives; set one",
				":16: network.hub_tls_key: hub_tls_cert and hub_tls_key go together",
				":17: network.hub_tls_ca: set but the embedded hub has no hub_tls_cert",
			},
		},
		{
			name: "embedded hub listen",
			text: minimal + "\n[network]\nrole = \"field-office\"\nembedded_hub = true\nhub_listen = \"4222\"\n",
			want: []string{":13: network.hub_listen: \"4222\" is not HOST:PORT"},
		},
		{
			name: "embedded hub off loopback without TLS",
			text: minimal + "\n[network]\nrole = \"field-office\"\nembedded_hub = true\nhub_listen = \":4222\"\n",
			want: []string{
				":10: network.hub_tls_cert: required when hub_listen (\":4222\") is not a loopback address",
				":10: network.hub_tls_key: required when hub_listen (\":4222\") is not a loopback address",
			},
		},
		{
			name: "replicas",
			text: minimal + "\n[network]\nrole = \"field-office\"\nembedded_hub = true\nreplicas = 7\n",
			want: []string{":13: network.replicas: 7 is not between 1 and 5"},
		},
		{
			name: "wrong types and unknown keys",
			text: minimal + "\n[network]\nrole = \"field-office\"\nhub_urls = \"nats://127.0.0.1:4222\"\nembedded_hub = \"yes\"\nleaf = true\n",
			want: []string{
				":12: network.hub_urls: must be an array, not string",
				":13: network.embedded_hub: must be true or false, not string \"yes\"",
				":14: network.leaf: unknown key",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("station.toml", []byte(tt.text))
			if err == nil {
				t.Fatalf("Parse accepted the file: %+v", c.Network)
			}
			var got []string
			for _, p := range err.(*Error).Problems {
				got = append(got, strings.TrimPrefix(p.Error(), "station.toml"))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}
