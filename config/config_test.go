package config

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// minimal is the smallest valid configuration file.
const minimal = `[station]
id = "s1"

[[printers]]
name = "p1"
driver = "evolis"
connection = "usb"
magnetic = "none"
`

// resolved returns c resolved under dir, as parse leaves it.
func resolved(t *testing.T, c *Config, dir string) *Config {
	t.Helper()
	c.resolve(dir)
	return c
}

func mustParse(t *testing.T, name, text string) *Config {
	t.Helper()
	c, err := Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("Parse(%s): %v\n--- text ---\n%s", name, err, text)
	}
	return c
}

func TestEmbeddedIsDefault(t *testing.T) {
	dir := t.TempDir()
	got, err := Embedded(dir)
	if err != nil {
		t.Fatalf("embedded default does not validate: %v", err)
	}
	want := resolved(t, Default(), dir)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("embedded default.toml and Default() disagree:\n got %+v\nwant %+v", got, want)
	}
	if got.Printers[0].Connection != "emulator" || len(got.Printers) != 1 {
		t.Errorf("default printers = %+v, want one emulator", got.Printers)
	}
	if !strings.HasPrefix(got.Paths.Spool, dir) {
		t.Errorf("spool %q is not under the work dir %q", got.Paths.Spool, dir)
	}
}

func TestEmbeddedTOMLIsCopy(t *testing.T) {
	a := EmbeddedTOML()
	a[0] = 'X'
	if EmbeddedTOML()[0] == 'X' {
		t.Fatal("EmbeddedTOML returns the embedded slice itself")
	}
}

func TestRoundTrip(t *testing.T) {
	full := Default()
	full.Station.Mode = ModePermanent
	full.Paths.Templates = "templates"
	full.USB.ExtraVendorIDs = []int{0x1234, 0xABCD}
	p := DefaultPrinter()
	p.Name, p.Driver, p.Connection = "lobby", DriverMagicard, "usb:0c1f:5001:MC123"
	p.Resolution = 600
	p.Ribbon = "ymcfko"
	p.FrontPanels = []Panel{PanelColor, PanelUV, PanelK}
	p.Magnetic = MagneticHiCo
	p.Calibration = Calibration{FrontXMM: 0.25, FrontYMM: -1.5}
	p.OnError = ErrorPolicy{Policy: PolicyStopPrinter, Backoff: time.Second, MaxBackoff: time.Hour}
	full.Printers[0].Emulator.Faults = []Fault{{Kind: FaultCardJam, AtCard: 3}, {Kind: FaultDisconnect}}
	full.Printers = append(full.Printers, p)
	full.HTTP = HTTP{Listen: "0.0.0.0:8443", TLSCert: "tls/c.pem", TLSKey: "tls/k.pem", TokenFile: "tls/token", ClientCA: "tls/ca.pem"}
	full.Dashboard.Preview = true
	full.Log = Log{Level: "debug", Format: "json"}
	full.Network = &Network{
		Site: "central", Role: RoleCentral,
		HubURLs:     []string{"tls://hub1.example:4222", "tls://hub2.example:4222"},
		Credentials: "keys/c.creds", TLSCert: "tls/nc.pem", TLSKey: "tls/nk.pem", TLSCA: "tls/hub-ca.pem",
		EmbeddedHub: true, HubListen: "0.0.0.0:4222", HubStore: "hubstore",
		HubTLSCert: "tls/h.pem", HubTLSKey: "tls/hk.pem", HubTLSCA: "tls/clients.pem",
		Replicas: 3,
	}

	tests := []struct {
		name string
		cfg  func() *Config
	}{
		{"default", Default},
		{"full", func() *Config { return full }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			data, err := Marshal(tt.cfg())
			if err != nil {
				t.Fatal(err)
			}
			got := mustParse(t, filepath.Join(dir, "station.toml"), string(data))
			want := resolved(t, tt.cfg(), dir)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip changed the config:\n got %+v\nwant %+v\n--- toml ---\n%s", got, want, data)
			}
			// The effective config is a fixed point.
			again, err := Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			got2 := mustParse(t, filepath.Join(dir, "station.toml"), string(again))
			if !reflect.DeepEqual(got2, got) {
				t.Errorf("second round trip changed the config:\n%s", again)
			}
		})
	}
}

func TestMinimalFile(t *testing.T) {
	dir := t.TempDir()
	c := mustParse(t, filepath.Join(dir, "station.toml"), minimal)
	if c.Station.Name != "s1" {
		t.Errorf("station.name = %q, want the id", c.Station.Name)
	}
	p := c.Printers[0]
	want := DefaultPrinter()
	if p.Resolution != want.Resolution || p.Ribbon != want.Ribbon || p.OnError != want.OnError || p.IOTimeout != want.IOTimeout {
		t.Errorf("printer did not start from DefaultPrinter: %+v", p)
	}
	if !reflect.DeepEqual(p.FrontPanels, []Panel{PanelColor, PanelK, PanelOverlay}) || p.BackPanels != nil {
		t.Errorf("panels = %v / %v, want the ymcko panels on the front only", p.FrontPanels, p.BackPanels)
	}
	if c.Security.Algorithm != AlgEd25519 || c.HTTP.Listen != "127.0.0.1:8631" {
		t.Errorf("sections did not start from Default: %+v %+v", c.Security, c.HTTP)
	}
}

func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	text := minimal + `
[paths]
spool = "sp"
state = "/var/lib/cardd"
templates = "../tpl"
`
	c := mustParse(t, filepath.Join(dir, "etc", "station.toml"), text)
	checks := []struct{ name, got, want string }{
		{"spool", c.Paths.Spool, filepath.Join(dir, "etc", "sp")},
		{"state", c.Paths.State, "/var/lib/cardd"},
		{"templates", c.Paths.Templates, filepath.Join(dir, "tpl")},
		{"journal", c.Paths.Journal, "/var/lib/cardd/journal"},
		{"serials", c.Paths.Serials, "/var/lib/cardd/serials"},
		{"audit_log", c.Security.AuditLog, "/var/lib/cardd/audit.log"},
		{"deny_list", c.Security.DenyList, "/var/lib/cardd/deny-list.json"},
		{"signing_key", c.Security.SigningKey, filepath.Join(dir, "etc", "keys", "issuer.key")},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // every problem, in order, without the "station.toml" prefix
	}{
		{
			name: "syntax error",
			text: "[station]\nid = \"s1\nmode = 3\n",
			want: []string{":2: TOML syntax: "},
		},
		{
			name: "audit checkpoints",
			text: minimal + "\n[security]\ncheckpoint_every = 0\ncheckpoint_interval = \"100ms\"\naudit_key = \"\"\n",
			want: []string{
				":11: security.checkpoint_every: 0 is not between 1 and 1000000 records",
				":12: security.checkpoint_interval: 100ms is not between 1s and 24h",
				":13: security.audit_key: required",
			},
		},
		{
			name: "unknown keys",
			text: minimal + "colour = \"red\"\n\n[http]\nlisten = \"127.0.0.1:1\"\nport = 80\n\n[nosuch]\nx = 1\n",
			want: []string{
				":9: printers[0].colour: unknown key",
				":13: http.port: unknown key",
				":15: nosuch: unknown key",
			},
		},
		{
			name: "wrong types",
			text: "[station]\nid = 7\nmode = \"temporary\"\ntemporary_validity_days = \"ten\"\n\n" +
				"[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\nconnection = \"usb\"\nduplex = \"yes\"\nresolution = 300.5\n",
			want: []string{
				":2: station.id: must be a string, not integer 7",
				":4: station.temporary_validity_days: must be an integer, not string \"ten\"",
				":10: printers[0].duplex: must be true or false, not string \"yes\"",
				":11: printers[0].resolution: must be an integer, not float 300.5",
			},
		},
		{
			name: "bad enums",
			text: "[station]\nid = \"s1\"\nmode = \"perm\"\n\n[[printers]]\nname = \"p1\"\ndriver = \"zebra\"\n" +
				"connection = \"serial:/dev/ttyS0\"\nresolution = 450\nribbon = \"rainbow\"\nmagnetic = \"yes\"\n" +
				"[printers.on_error]\npolicy = \"pray\"\n\n[security]\nalgorithm = \"rsa\"\n\n[log]\nlevel = \"loud\"\nformat = \"xml\"\n",
			want: []string{
				":3: station.mode: \"perm\" is not one of temporary, permanent",
				":7: printers[0].driver: \"zebra\" is not one of evolis, magicard, ipp",
				":8: printers[0].connection: \"serial:/dev/ttyS0\": want usb[:…], tcp:HOST:PORT, ipp://HOST[:PORT]/printers/NAME or emulator",
				":9: printers[0].resolution: 450 is not 300 or 600",
				":10: printers[0].ribbon: \"rainbow\" is not one of k, ko, ymcfko, ymcfkok, ymcko, ymckok, ymckos",
				":11: printers[0].magnetic: \"yes\" is not one of none, hico, loco",
				":13: printers[0].on_error.policy: \"pray\" is not one of retry-job, hold-job, stop-printer",
				":16: security.algorithm: \"rsa\" is not one of ed25519, es256",
				":19: log.level: \"loud\" is not one of debug, info, warn, error",
				":20: log.format: \"xml\" is not one of text, json",
			},
		},
		{
			name: "ipp driver and connection must agree",
			text: "[station]\nid = \"s1\"\n\n[[printers]]\nname = \"p1\"\ndriver = \"ipp\"\nconnection = \"usb\"\n\n" +
				"[[printers]]\nname = \"p2\"\ndriver = \"magicard\"\nconnection = \"ipp://localhost/printers/Magicard\"\n\n" +
				"[[printers]]\nname = \"p3\"\ndriver = \"ipp\"\nconnection = \"ipp://localhost:0/printers/x\"\n",
			want: []string{
				":7: printers[0].connection: \"usb\": driver ipp prints through an IPP queue: want ipp://HOST[:PORT]/printers/NAME or ipps://…",
				":12: printers[1].connection: \"ipp://localhost/printers/Magicard\" is an IPP queue: set driver = \"ipp\" (the queue's own driver speaks the printer's language)",
				":17: printers[2].connection: \"ipp://localhost:0/printers/x\": port \"0\" is not a number from 1 to 65535",
			},
		},
		{
			name: "bad durations",
			text: minimal + "poll_interval = \"2 seconds\"\nio_timeout = 30\n\n[batching]\nwindow = \"0s\"\n\n[retention]\npersonal_data = \"-1h\"\n",
			want: []string{
				":9: printers[0].poll_interval: \"2 seconds\" is not a duration (use units such as \"30s\", \"10m\", \"72h\")",
				":10: printers[0].io_timeout: must be a duration string such as \"30s\" or \"72h\", not integer 30",
				":13: batching.window: 0s must be longer than 0",
				":16: retention.personal_data: -1h0m0s must not be negative",
			},
		},
		{
			name: "duplicate printer names",
			text: minimal + "\n[[printers]]\nname = \"p2\"\ndriver = \"magicard\"\nconnection = \"tcp:10.0.0.5:9100\"\n\n" +
				"[[printers]]\nname = \"p1\"\ndriver = \"magicard\"\nconnection = \"usb:0c1f:5001:X1\"\n",
			want: []string{":16: printers[2].name: duplicate printer name \"p1\" (also printers[0])"},
		},
		{
			name: "two printers on one device",
			text: minimal + "\n[[printers]]\nname = \"p2\"\ndriver = \"evolis\"\nconnection = \"usb\"\n\n" +
				"[[printers]]\nname = \"p3\"\ndriver = \"evolis\"\nconnection = \"usb:0x0F49:0001:A\"\n\n" +
				"[[printers]]\nname = \"p4\"\ndriver = \"evolis\"\nconnection = \"usb:0f49:0001:A\"\n",
			want: []string{
				":13: printers[1].connection: \"usb\" is the same device as printers[0]; select each printer by serial number",
				":23: printers[3].connection: \"usb:0f49:0001:A\" is the same device as printers[2]; select each printer by serial number",
			},
		},
		{
			name: "negative values",
			text: "[station]\nid = \"s1\"\ntemporary_validity_days = -1\n\n[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\n" +
				"connection = \"emulator\"\nstock_loaded = -5\n[printers.on_error]\nmax_retries = -1\n" +
				"[printers.emulator]\nspeed = -0.5\ncards_loaded = -2\n[[printers.emulator.faults]]\nkind = \"card-jam\"\nat_card = -3\n" +
				"\n[batching]\nsize = -10\n\n[usb]\nextra_vendor_ids = [-1, 0x10000]\n",
			want: []string{
				":3: station.temporary_validity_days: -1 is not between 1 and 3660",
				":9: printers[0].stock_loaded: -5 must not be negative",
				":11: printers[0].on_error.max_retries: -1 must not be negative",
				":13: printers[0].emulator.speed: -0.5 is not between 0 and 1000",
				":14: printers[0].emulator.cards_loaded: -2 must not be negative",
				":17: printers[0].emulator.faults[0].at_card: -3 must not be negative",
				":20: batching.size: -10 is not between 1 and 100000",
				":23: usb.extra_vendor_ids[0]: -1 is not a USB vendor id (1 to 0xFFFF)",
				":23: usb.extra_vendor_ids[1]: 65536 is not a USB vendor id (1 to 0xFFFF)",
			},
		},
		{
			name: "emulator hopper, reject box and control channel",
			text: "[station]\nid = \"s1\"\n\n[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\nconnection = \"emulator\"\n" +
				"[printers.emulator]\nhopper_capacity = 0\nreject_capacity = 100001\ncontrol = \"localhost\"\n\n" +
				"[[printers]]\nname = \"p2\"\ndriver = \"evolis\"\nconnection = \"emulator\"\n" +
				"[printers.emulator]\ncontrol = \"127.0.0.1:http\"\n",
			want: []string{
				":9: printers[0].emulator.hopper_capacity: 0 is not between 1 and 100000 cards",
				":10: printers[0].emulator.reject_capacity: 100001 is not between 1 and 100000 cards",
				":11: printers[0].emulator.control: \"localhost\" is not a TCP address such as \"127.0.0.1:9101\": address localhost: missing port in address",
				":18: printers[1].emulator.control: \"127.0.0.1:http\": port \"http\" is not a number from 0 to 65535",
			},
		},
		{
			name: "missing required",
			text: "[station]\nmode = \"temporary\"\n\n[[printers]]\nresolution = 600\n\n[security]\nsigning_key = \"\"\nissuer = \"\"\n",
			want: []string{
				":1: station.id: required",
				":4: printers[0].name: required",
				":4: printers[0].driver: required (one of evolis, magicard, ipp)",
				":4: printers[0].connection: required",
				":8: security.signing_key: required",
				":9: security.issuer: required",
			},
		},
		{
			name: "no printers",
			text: "[station]\nid = \"s1\"\n",
			want: []string{": printers: at least one printer is required ([[printers]] with name, driver and connection)"},
		},
		{
			name: "panels and emulator section",
			text: minimal + "ribbon = \"ko\"\nfront_panels = [\"color\", \"k\", \"k\", \"gold\"]\nback_panels = [\"k\"]\n" +
				"[printers.emulator]\nspeed = 0.0\n",
			want: []string{
				":10: printers[0].front_panels[0]: \"color\" is not on a ko ribbon",
				":10: printers[0].front_panels[2]: \"k\" listed twice",
				":10: printers[0].front_panels[3]: \"gold\" is not one of color, k, overlay, uv",
				":11: printers[0].back_panels: set but the printer is not duplex",
				":12: printers[0].emulator: set but the connection is \"usb\", not \"emulator\"",
			},
		},
		{
			name: "http off loopback needs tls and token",
			text: minimal + "\n[http]\nlisten = \"0.0.0.0:8443\"\ntls_cert = \"c.pem\"\n",
			want: []string{
				":10: http.tls_key: required when listen (\"0.0.0.0:8443\") is not a loopback address",
				":10: http.token_file: token_file or client_ca is required when listen (\"0.0.0.0:8443\") is not a loopback address",
			},
		},
		{
			name: "http allowed hosts and stall",
			text: minimal + "\n[http]\nallowed_hosts = [\"station.example\", \"evil.example:80\", \"http://x\", \"*.example\", \"10.0.0.7\"]\nstall_after = \"-1m\"\n",
			want: []string{
				":11: http.allowed_hosts[1]: \"evil.example:80\" is not a host name (no port, scheme or wildcard)",
				":11: http.allowed_hosts[2]: \"http://x\" is not a host name (no port, scheme or wildcard)",
				":11: http.allowed_hosts[3]: \"*.example\" is not a host name (no port, scheme or wildcard)",
				":12: http.stall_after: -1m0s must not be negative",
			},
		},
		{
			name: "identity and security formats",
			text: "[station]\nid = \"-bad id\"\n\n[[printers]]\nname = \"p 1\"\ndriver = \"evolis\"\nconnection = \"usb:zz:0001\"\n" +
				"[printers.calibration]\nfront_x_mm = 7.5\n\n[security]\nissuer = \"not a uri\"\nserial_prefix = \"ab-1\"\n",
			want: []string{
				":2: station.id: \"-bad id\" must be 1–32 letters, digits, '-' or '_', starting with a letter or digit",
				":5: printers[0].name: \"p 1\" must be 1–32 letters, digits, '-' or '_', starting with a letter or digit",
				":7: printers[0].connection: \"usb:zz:0001\": vendor id: \"zz\" is not 4 hex digits",
				":9: printers[0].calibration.front_x_mm: 7.5 mm is beyond ±5 mm",
				":12: security.issuer: \"not a uri\" is not an absolute URI (such as https://issuer.example/ or urn:…)",
				":13: security.serial_prefix: \"ab-1\" must be 1–8 capital letters or digits",
			},
		},
		{
			name: "inline tables fall back to the parent's line",
			text: minimal + "on_error = { policy = \"nope\", backoff = \"1x\" }\n",
			want: []string{
				":9: printers[0].on_error.backoff: \"1x\" is not a duration (use units such as \"30s\", \"10m\", \"72h\")",
				":9: printers[0].on_error.policy: \"nope\" is not one of retry-job, hold-job, stop-printer",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("station.toml", []byte(tt.text))
			if err == nil {
				t.Fatalf("Parse accepted the file: %+v", c)
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error is %T, not *config.Error: %v", err, err)
			}
			var got []string
			for _, p := range cerr.Problems {
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
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.want) {
				t.Errorf("Error() has %d lines, want one per problem", n)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "station.toml")
	if err := os.WriteFile(path, []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Paths.Spool != filepath.Join(dir, "spool") {
		t.Errorf("spool = %q, want it beside the file", c.Paths.Spool)
	}
	_, err = Load(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("Load(missing) = %v, want a not-exist error naming the file", err)
	}
}

func TestTooLarge(t *testing.T) {
	data := bytes.Repeat([]byte("# padding\n"), MaxSize/10+1)
	if _, err := Parse("big.toml", data); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Parse(big) = %v, want a size error", err)
	}
}

func TestPrinterLookup(t *testing.T) {
	c := Default()
	if p, ok := c.Printer("emulator"); !ok || p != &c.Printers[0] {
		t.Errorf("Printer(emulator) = %v, %v", p, ok)
	}
	if _, ok := c.Printer("nope"); ok {
		t.Error("Printer(nope) found something")
	}
}

func TestSlogLevel(t *testing.T) {
	for _, l := range []string{"debug", "info", "warn", "error"} {
		if got := (Log{Level: l}).SlogLevel().String(); !strings.EqualFold(got, l) {
			t.Errorf("SlogLevel(%s) = %s", l, got)
		}
	}
}

func TestHTTPIsLoopback(t *testing.T) {
	tests := []struct {
		listen string
		want   bool
	}{
		{"127.0.0.1:8631", true},
		{"127.1.2.3:80", true},
		{"[::1]:8631", true},
		{"localhost:1", true},
		{"0.0.0.0:8631", false},
		{":8631", false},
		{"10.0.0.1:80", false},
		{"garbage", false},
	}
	for _, tt := range tests {
		if got := (&HTTP{Listen: tt.listen}).IsLoopback(); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.listen, got, tt.want)
		}
	}
}

// TestEffectiveGolden pins the effective embedded default as Marshal writes
// it (paths under /work), so a change of any default shows in review.
// Regenerate with: go test ./config -run EffectiveGolden -update
func TestEffectiveGolden(t *testing.T) {
	c, err := Embedded("/work")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "effective-default.toml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("effective default differs from %s (run with -update if intended):\n%s", golden, got)
	}
}

func BenchmarkParseDefault(b *testing.B) {
	data := EmbeddedTOML()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(EmbeddedName, "/work", data, false); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDateTimeIsAWrongType(t *testing.T) {
	_, err := Parse("s.toml", []byte(minimal+"poll_interval = 1979-05-27\n"))
	if err == nil || !strings.Contains(err.Error(), "s.toml:9: printers[0].poll_interval: must be a duration string such as \"30s\" or \"72h\", not a date/time") {
		t.Errorf("Parse = %v", err)
	}
}

func TestHTTPOffLoopbackWithClientCA(t *testing.T) {
	dir := t.TempDir()
	c := mustParse(t, filepath.Join(dir, "s.toml"), minimal+"\n[http]\nlisten = \"0.0.0.0:8443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nclient_ca = \"ca.pem\"\n")
	if c.HTTP.ClientCA != filepath.Join(dir, "ca.pem") || c.HTTP.IsLoopback() {
		t.Errorf("http = %+v", c.HTTP)
	}
}

// TestSerialStation: the serial's station code is explicit, or station.id
// upper-cased when that is itself a code; any other id requires it, and a
// bad code is refused.
func TestSerialStation(t *testing.T) {
	tests := []struct {
		name, id, station string
		want              string // the resolved code, or the problem
		wantErr           bool
	}{
		{name: "short id derives", id: "s1", want: "S1"},
		{name: "four-character id derives", id: "Ab12", want: "AB12"},
		{name: "explicit beats the id", id: "s1", station: "Z9", want: "Z9"},
		{name: "long id with a code", id: "office-north-7", station: "ON7", want: "ON7"},
		{name: "long id without a code", id: "office-north-7", wantErr: true,
			want: "security.serial_station: required when station.id (\"office-north-7\") is not itself 1–4 letters or digits"},
		{name: "five letters need a code", id: "north", wantErr: true, want: "security.serial_station: required"},
		{name: "id with a dash needs a code", id: "n-1", wantErr: true, want: "security.serial_station: required"},
		{name: "lower-case code", id: "s1", station: "ab", wantErr: true, want: "security.serial_station: \"ab\" must be 1–4 capital letters or digits"},
		{name: "code too long", id: "s1", station: "ABCDE", wantErr: true, want: "security.serial_station: \"ABCDE\" must be 1–4 capital letters or digits"},
		{name: "code with a dash", id: "s1", station: "A-1", wantErr: true, want: "must be 1–4 capital letters or digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(minimal, `id = "s1"`, `id = "`+tt.id+`"`, 1)
			if tt.station != "" {
				text += "\n[security]\nserial_station = \"" + tt.station + "\"\n"
			}
			cfg, err := Parse(filepath.Join(t.TempDir(), "station.toml"), []byte(text))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Security.SerialStation != tt.want {
				t.Errorf("serial_station %q, want %q", cfg.Security.SerialStation, tt.want)
			}
		})
	}
	def, err := Embedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if def.Security.SerialStation != "DEMO" {
		t.Errorf("embedded default serial_station %q, want DEMO", def.Security.SerialStation)
	}
}

// TestIssuerWarning: the default issuer is an https:// URI (Claim 169
// asks for one) and draws no warning; a URN is valid but warned about.
func TestIssuerWarning(t *testing.T) {
	c := Default()
	if !strings.HasPrefix(c.Security.Issuer, "https://") {
		t.Errorf("default issuer %q is not an https:// URI", c.Security.Issuer)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("default draws warnings: %q", w)
	}
	c.Security.Issuer = "urn:cardd:demo"
	w := c.Warnings()
	if len(w) != 1 || !strings.HasPrefix(w[0], "security.issuer: ") || !strings.Contains(w[0], "urn:cardd:demo") {
		t.Errorf("URN issuer: warnings %q", w)
	}
}
