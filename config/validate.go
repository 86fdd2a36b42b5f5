package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// validator hands each section the problem list and the set of keys the
// file defined.
type validator struct {
	probs   *problems
	defined map[string]bool
}

func (v *validator) add(path, format string, args ...any) { v.probs.add(path, format, args...) }

// oneOf checks that s is one of allowed.
func (v *validator) oneOf(path, s string, allowed ...string) {
	if s == "" {
		v.add(path, "required (one of %s)", strings.Join(allowed, ", "))
		return
	}
	if !slices.Contains(allowed, s) {
		v.add(path, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
}

func (v *validator) positive(path string, n int) {
	if n <= 0 {
		v.add(path, "%d must be greater than 0", n)
	}
}

func (v *validator) nonNegative(path string, n int) {
	if n < 0 {
		v.add(path, "%d must not be negative", n)
	}
}

func (v *validator) positiveDuration(path string, d time.Duration) {
	if d <= 0 {
		v.add(path, "%s must be longer than 0", d)
	}
}

func (v *validator) required(path, s string) bool {
	if s == "" {
		v.add(path, "required")
		return false
	}
	return true
}

// validName checks an identifier: 1–32 of [A-Za-z0-9_-], not starting
// with '-' or '_'.
func validName(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' || s[0] == '_' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (c *Config) validate(v *validator) {
	c.Station.validate(v, "station")
	if c.Security.SerialStation == "" && validName(c.Station.ID) {
		// resolve derived none: the id is not itself a station code.
		v.add("security.serial_station", "required when station.id (%q) is not itself 1–4 letters or digits: a code cut from the id could repeat another station's serials", c.Station.ID)
	}
	c.Paths.validate(v, "paths")
	if len(c.Printers) == 0 {
		v.add("printers", "at least one printer is required ([[printers]] with name, driver and connection)")
	}
	names := map[string]int{}
	conns := map[Connection]int{}
	for i := range c.Printers {
		path := fmt.Sprintf("printers[%d]", i)
		p := &c.Printers[i]
		p.validate(v, path)
		if p.Name != "" {
			if j, dup := names[p.Name]; dup {
				v.add(path+".name", "duplicate printer name %q (also printers[%d])", p.Name, j)
			} else {
				names[p.Name] = i
			}
		}
		// Two entries must not name the same device (emulators are each
		// their own).
		if conn, err := ParseConnection(p.Connection); err == nil && conn.Kind != ConnEmulator {
			if j, dup := conns[conn]; dup {
				v.add(path+".connection", "%q is the same device as printers[%d]; select each printer by serial number", p.Connection, j)
			} else {
				conns[conn] = i
			}
		}
	}
	c.USB.validate(v, "usb")
	c.Security.validate(v, "security")
	c.Batching.validate(v, "batching")
	c.Retention.validate(v, "retention")
	c.Portrait.validate(v, "portrait")
	c.HTTP.validate(v, "http")
	c.Log.validate(v, "log")
	if c.Network != nil {
		c.Network.validate(v, "network", &c.Station)
	}
}

func (s *Station) validate(v *validator, path string) {
	if v.required(path+".id", s.ID) && !validName(s.ID) {
		v.add(path+".id", "%q must be 1–32 letters, digits, '-' or '_', starting with a letter or digit", s.ID)
	}
	v.oneOf(path+".mode", string(s.Mode), string(ModeTemporary), string(ModePermanent))
	if s.TemporaryValidityDays <= 0 || s.TemporaryValidityDays > 3660 {
		v.add(path+".temporary_validity_days", "%d is not between 1 and 3660", s.TemporaryValidityDays)
	}
	if s.PermanentValidityDays <= 0 || s.PermanentValidityDays > 36600 {
		v.add(path+".permanent_validity_days", "%d is not between 1 and 36600", s.PermanentValidityDays)
	}
}

func (p *Paths) validate(v *validator, path string) {
	v.required(path+".spool", p.Spool)
	v.required(path+".state", p.State)
	if p.Spool != "" && p.Spool == p.State {
		v.add(path+".state", "must differ from paths.spool")
	}
}

// ribbons maps each known ribbon type to the panels it carries.
var ribbons = map[string][]Panel{
	"k":       {PanelK},
	"ko":      {PanelK, PanelOverlay},
	"ymcko":   {PanelColor, PanelK, PanelOverlay},
	"ymckok":  {PanelColor, PanelK, PanelOverlay},
	"ymckos":  {PanelColor, PanelK, PanelOverlay},
	"ymcfko":  {PanelColor, PanelUV, PanelK, PanelOverlay},
	"ymcfkok": {PanelColor, PanelUV, PanelK, PanelOverlay},
}

// RibbonTypes lists the ribbon types a printer may be configured with.
func RibbonTypes() []string {
	names := make([]string, 0, len(ribbons))
	for n := range ribbons {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func ribbonPanels(ribbon string) []Panel { return slices.Clone(ribbons[ribbon]) }

func defaultBackPanels(ribbon string) []Panel {
	if ribbon == "ymckok" || ribbon == "ymcfkok" {
		return []Panel{PanelK}
	}
	return ribbonPanels(ribbon)
}

func (p *Printer) validate(v *validator, path string) {
	if v.required(path+".name", p.Name) && !validName(p.Name) {
		v.add(path+".name", "%q must be 1–32 letters, digits, '-' or '_', starting with a letter or digit", p.Name)
	}
	v.oneOf(path+".driver", string(p.Driver), string(DriverEvolis), string(DriverMagicard), string(DriverIPP))
	var conn Connection
	if v.required(path+".connection", p.Connection) {
		var err error
		if conn, err = ParseConnection(p.Connection); err != nil {
			v.add(path+".connection", "%v", err)
		} else {
			switch {
			case p.Driver == DriverIPP && conn.Kind != ConnIPP:
				v.add(path+".connection", "%q: driver ipp prints through an IPP queue: want ipp://HOST[:PORT]/printers/NAME or ipps://…", p.Connection)
			case conn.Kind == ConnIPP && p.Driver != DriverIPP && p.Driver != "":
				v.add(path+".connection", "%q is an IPP queue: set driver = \"ipp\" (the queue's own driver speaks the printer's language)", p.Connection)
			}
		}
	}
	if p.Resolution != 300 && p.Resolution != 600 {
		v.add(path+".resolution", "%d is not 300 or 600", p.Resolution)
	}
	v.oneOf(path+".ribbon", p.Ribbon, RibbonTypes()...)
	if have, ok := ribbons[p.Ribbon]; ok {
		checkPanels(v, path+".front_panels", p.FrontPanels, have, p.Ribbon)
		checkPanels(v, path+".back_panels", p.BackPanels, have, p.Ribbon)
	}
	if !p.Duplex && len(p.BackPanels) > 0 {
		v.add(path+".back_panels", "set but the printer is not duplex")
	}
	v.oneOf(path+".magnetic", string(p.Magnetic), string(MagneticNone), string(MagneticHiCo), string(MagneticLoCo))
	p.Calibration.validate(v, path+".calibration")
	p.OnError.validate(v, path+".on_error")
	v.nonNegative(path+".stock_loaded", p.StockLoaded)
	v.positiveDuration(path+".poll_interval", p.PollInterval)
	v.positiveDuration(path+".io_timeout", p.IOTimeout)
	if p.Emulator != nil {
		p.Emulator.validate(v, path+".emulator")
	}
	if conn.Kind != ConnEmulator && p.Connection != "" && v.defined[path+".emulator"] {
		v.add(path+".emulator", "set but the connection is %q, not \"emulator\"", p.Connection)
	}
}

func checkPanels(v *validator, path string, panels, have []Panel, ribbon string) {
	seen := map[Panel]bool{}
	for i, pn := range panels {
		ip := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case !slices.Contains([]Panel{PanelColor, PanelK, PanelOverlay, PanelUV}, pn):
			v.add(ip, "%q is not one of color, k, overlay, uv", pn)
		case !slices.Contains(have, pn):
			v.add(ip, "%q is not on a %s ribbon", pn, ribbon)
		case seen[pn]:
			v.add(ip, "%q listed twice", pn)
		}
		seen[pn] = true
	}
}

// MaxOffsetMM bounds calibration offsets.
const MaxOffsetMM = 5.0

func (c *Calibration) validate(v *validator, path string) {
	check := func(key string, mm float64) {
		if math.Abs(mm) > MaxOffsetMM {
			v.add(path+"."+key, "%g mm is beyond ±%g mm", mm, MaxOffsetMM)
		}
	}
	check("front_x_mm", c.FrontXMM)
	check("front_y_mm", c.FrontYMM)
	check("back_x_mm", c.BackXMM)
	check("back_y_mm", c.BackYMM)
}

func (e *ErrorPolicy) validate(v *validator, path string) {
	v.oneOf(path+".policy", string(e.Policy), string(PolicyRetryJob), string(PolicyHoldJob), string(PolicyStopPrinter))
	v.nonNegative(path+".max_retries", e.MaxRetries)
	v.positiveDuration(path+".backoff", e.Backoff)
	v.positiveDuration(path+".max_backoff", e.MaxBackoff)
	if e.Backoff > 0 && e.MaxBackoff > 0 && e.MaxBackoff < e.Backoff {
		v.add(path+".max_backoff", "%s is shorter than backoff %s", e.MaxBackoff, e.Backoff)
	}
}

func (e *Emulator) validate(v *validator, path string) {
	if e.Speed < 0 || e.Speed > 1000 {
		v.add(path+".speed", "%g is not between 0 and 1000", e.Speed)
	}
	v.nonNegative(path+".cards_loaded", e.CardsLoaded)
	v.nonNegative(path+".ribbon_panels", e.RibbonPanels)
	if e.HopperCapacity < 1 || e.HopperCapacity > 100_000 {
		v.add(path+".hopper_capacity", "%d is not between 1 and 100000 cards", e.HopperCapacity)
	}
	if e.RejectCapacity < 1 || e.RejectCapacity > 100_000 {
		v.add(path+".reject_capacity", "%d is not between 1 and 100000 cards", e.RejectCapacity)
	}
	if e.Control != "" {
		if _, port, err := net.SplitHostPort(e.Control); err != nil {
			v.add(path+".control", "%q is not a TCP address such as \"127.0.0.1:9101\": %v", e.Control, err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			v.add(path+".control", "%q: port %q is not a number from 0 to 65535", e.Control, port)
		}
	}
	for i, f := range e.Faults {
		fp := fmt.Sprintf("%s.faults[%d]", path, i)
		v.oneOf(fp+".kind", string(f.Kind), string(FaultCoverOpen), string(FaultRibbonOut),
			string(FaultFeederEmpty), string(FaultCardJam), string(FaultHopperFull), string(FaultDisconnect))
		v.nonNegative(fp+".at_card", f.AtCard)
	}
}

func (u *USB) validate(v *validator, path string) {
	seen := map[int]bool{}
	for i, id := range u.ExtraVendorIDs {
		ip := fmt.Sprintf("%s.extra_vendor_ids[%d]", path, i)
		switch {
		case id <= 0 || id > 0xFFFF:
			v.add(ip, "%d is not a USB vendor id (1 to 0xFFFF)", id)
		case seen[id]:
			v.add(ip, "0x%04X listed twice", id)
		}
		seen[id] = true
	}
}

func (s *Security) validate(v *validator, path string) {
	v.required(path+".signing_key", s.SigningKey)
	v.oneOf(path+".algorithm", string(s.Algorithm), string(AlgEd25519), string(AlgES256))
	if v.required(path+".issuer", s.Issuer) {
		if u, err := url.Parse(s.Issuer); err != nil || u.Scheme == "" || (u.Opaque == "" && u.Host == "") {
			v.add(path+".issuer", "%q is not an absolute URI (such as https://issuer.example/ or urn:…)", s.Issuer)
		}
	}
	v.required(path+".trust_list", s.TrustList)
	v.required(path+".audit_key", s.AuditKey)
	if s.CheckpointEvery < 1 || s.CheckpointEvery > 1_000_000 {
		v.add(path+".checkpoint_every", "%d is not between 1 and 1000000 records", s.CheckpointEvery)
	}
	if s.CheckpointInterval < time.Second || s.CheckpointInterval > 24*time.Hour {
		v.add(path+".checkpoint_interval", "%v is not between 1s and 24h", s.CheckpointInterval)
	}
	if v.required(path+".serial_prefix", s.SerialPrefix) {
		ok := len(s.SerialPrefix) <= 8
		for _, r := range s.SerialPrefix {
			ok = ok && (r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}
		if !ok {
			v.add(path+".serial_prefix", "%q must be 1–8 capital letters or digits", s.SerialPrefix)
		}
	}
	if s.SerialStation != "" && !validSerialStation(s.SerialStation) {
		v.add(path+".serial_station", "%q must be 1–4 capital letters or digits", s.SerialStation)
	}
}

// validSerialStation checks a serial's station code: 1–4 capital letters
// or digits.
func validSerialStation(s string) bool {
	if s == "" || len(s) > 4 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func (b *Batching) validate(v *validator, path string) {
	if b.Size <= 0 || b.Size > 100000 {
		v.add(path+".size", "%d is not between 1 and 100000", b.Size)
	}
	v.positiveDuration(path+".window", b.Window)
}

func (r *Retention) validate(v *validator, path string) {
	if r.PersonalData < 0 {
		v.add(path+".personal_data", "%s must not be negative", r.PersonalData)
	}
}

// IsLoopback reports whether listen addresses only this machine.
func (h *HTTP) IsLoopback() bool {
	host, _, err := net.SplitHostPort(h.Listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (h *HTTP) validate(v *validator, path string) {
	if h.Listen == "" {
		return
	}
	_, port, err := net.SplitHostPort(h.Listen)
	if err != nil {
		v.add(path+".listen", "%q is not HOST:PORT", h.Listen)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add(path+".listen", "port %q is not a number from 0 to 65535", port)
		return
	}
	if !h.IsLoopback() {
		for _, kv := range [][2]string{{"tls_cert", h.TLSCert}, {"tls_key", h.TLSKey}} {
			if kv[1] == "" {
				v.add(path+"."+kv[0], "required when listen (%q) is not a loopback address", h.Listen)
			}
		}
		if h.TokenFile == "" && h.ClientCA == "" {
			v.add(path+".token_file", "token_file or client_ca is required when listen (%q) is not a loopback address", h.Listen)
		}
	}
	if (h.TLSCert == "") != (h.TLSKey == "") {
		v.add(path+".tls_key", "tls_cert and tls_key go together")
	}
	for i, name := range h.AllowedHosts {
		if err := ValidHostName(name); err != nil {
			v.add(fmt.Sprintf("%s.allowed_hosts[%d]", path, i), "%v", err)
		}
	}
	if h.StallAfter < 0 {
		v.add(path+".stall_after", "%s must not be negative", h.StallAfter)
	}
}

// ValidHostName reports whether name can be matched against a request's
// Host header: an IP address, or a DNS name of letters, digits, '-' and
// '.', without a port, scheme, path or wildcard.
func ValidHostName(name string) error {
	if net.ParseIP(strings.Trim(name, "[]")) != nil {
		return nil
	}
	n := strings.TrimSuffix(name, ".")
	if n == "" || len(n) > 253 {
		return fmt.Errorf("%q is not a host name", name)
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not a host name (no port, scheme or wildcard)", name)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q is not a host name (no port, scheme or wildcard)", name)
			}
		}
	}
	return nil
}

func (l *Log) validate(v *validator, path string) {
	v.oneOf(path+".level", l.Level, "debug", "info", "warn", "error")
	v.oneOf(path+".format", l.Format, "text", "json")
}

// Warnings returns advice about settings that are valid but not what they
// should be, each as "KEY: ADVICE" (cardd config check prints them; they
// do not stop a station). Today: an issuer that is not an https:// URI —
// the Claim 169 specification asks for the issuer's full URI, and a URN
// (urn:…) cannot be resolved by anyone who checks a card.
func (c *Config) Warnings() []string {
	var w []string
	if u, err := url.Parse(c.Security.Issuer); err == nil && u.Scheme != "https" {
		w = append(w, fmt.Sprintf("security.issuer: %q is not an https:// URI; Claim 169 asks for the issuer's full URI (such as https://id.example.org/)", c.Security.Issuer))
	}
	return w
}
