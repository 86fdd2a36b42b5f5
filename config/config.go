// Package config reads, validates and writes the configuration of a cardd
// station: who the station is, where its spool and state live, which
// printers it drives and how, its signing keys, batching, retention, the
// local HTTP endpoint, logging, and its place in the issuance network.
//
// A configuration is a TOML file. Parsing starts from Default, so a file
// names only what differs; unknown keys are errors, and every problem in a
// file is reported at once, each with the file, the line where one is known
// and the key path:
//
//	station.toml:14: printers[1].resolution: 450 is not 300 or 600
//
// Array indexes in key paths count from 0. Relative paths resolve against
// the directory of the configuration file. The embedded default (Embedded,
// EmbeddedTOML) works with no file at all: one in-process emulated printer
// and every path under a work directory.
//
// Validation checks the shape of the configuration only; it does not open
// files or devices (that is "cardd doctor"'s business).
//
// This package imports nothing else of cardd.
package config

import (
	"fmt"
	"log/slog"
	"time"
)

// Config is the whole configuration of one station.
type Config struct {
	Station   Station   `toml:"station"`
	Paths     Paths     `toml:"paths"`
	Printers  []Printer `toml:"printers"`
	USB       USB       `toml:"usb"`
	Security  Security  `toml:"security"`
	Batching  Batching  `toml:"batching"`
	Retention Retention `toml:"retention"`
	HTTP      HTTP      `toml:"http"`
	Dashboard Dashboard `toml:"dashboard"`
	Portrait  Portrait  `toml:"portrait"`
	Log       Log       `toml:"log"`
	// Network joins the station to the issuance network; nil (no
	// [network] table) for a station that works alone.
	Network *Network `toml:"network,omitempty"`
}

// Mode is how a station issues cards.
type Mode string

// The station modes.
const (
	// ModeTemporary prints each job as soon as it arrives (field office).
	ModeTemporary Mode = "temporary"
	// ModePermanent gathers jobs into batches printed across the printer
	// pool, with a reconciliation report per batch (central facility).
	ModePermanent Mode = "permanent"
)

// Station identifies the station and its issuing mode.
type Station struct {
	// ID is the station's short identifier, used in audit records and
	// reports: 1–32 letters, digits, '-' or '_', starting with a letter or
	// digit. Required in a configuration file. Serials carry
	// Security.SerialStation, which defaults to ID only when ID is itself
	// 1–4 letters or digits.
	ID string `toml:"id"`
	// Name is a human-readable name for dashboards and reports; defaults
	// to ID.
	Name string `toml:"name"`
	// Mode is temporary or permanent.
	Mode Mode `toml:"mode"`
	// TemporaryValidityDays is how many days a temporary card is valid
	// from its issue date (printed and signed expiry).
	TemporaryValidityDays int `toml:"temporary_validity_days"`
	// PermanentValidityDays is how many days a permanent card is valid
	// from its issue date.
	PermanentValidityDays int `toml:"permanent_validity_days"`
}

// Paths are the directories and files the station owns.
type Paths struct {
	// Spool is the spool directory (incoming/, active/, done/ …).
	Spool string `toml:"spool"`
	// State is the directory for the daemon's own durable state; the
	// journal, the serial counter, the audit log and the deny list default
	// to files in it.
	State string `toml:"state"`
	// Templates is a directory of card templates (NAME.toml) consulted
	// before the templates built into cardd; empty for the built-in ones
	// only.
	Templates string `toml:"templates"`
	// Journal is the job journal file; default State/journal.
	Journal string `toml:"journal"`
	// Serials is the directory of the durable serial counters (one
	// counter file and its lock file per issuer and station code);
	// default State/serials.
	Serials string `toml:"serials"`
}

// Driver names a printer command language.
type Driver string

// The printer drivers.
const (
	DriverEvolis   Driver = "evolis"
	DriverMagicard Driver = "magicard"
	// DriverIPP prints through an IPP print queue (a CUPS queue with the
	// vendor's driver, or a driverless IPP printer); its connection is
	// ipp://… or ipps://….
	DriverIPP Driver = "ipp"
)

// Panel names one ribbon panel. The names are those of package printer's
// raster contract.
type Panel string

// The panels.
const (
	PanelColor   Panel = "color"   // Y, M and C dye
	PanelK       Panel = "k"       // resin black
	PanelOverlay Panel = "overlay" // clear overlay varnish
	PanelUV      Panel = "uv"      // UV-fluorescent (F)
)

// Magnetic is the magnetic stripe encoder fitted to a printer.
type Magnetic string

// The magnetic encoder settings.
const (
	MagneticNone Magnetic = "none" // no encoder
	MagneticHiCo Magnetic = "hico" // ISO 7811 encoder, high coercivity stripes
	MagneticLoCo Magnetic = "loco" // ISO 7811 encoder, low coercivity stripes
)

// Printer is one configured printer.
type Printer struct {
	// Name identifies the printer in logs, commands and the dashboard:
	// 1–32 letters, digits, '-' or '_'. Unique. Required.
	Name string `toml:"name"`
	// Driver is the command language: evolis, magicard, or ipp (an IPP
	// print queue, connection ipp://… or ipps://…). Required.
	Driver Driver `toml:"driver"`
	// Connection says how to reach the printer; see ParseConnection for
	// the forms ("usb", "usb:SERIAL", "usb:VID:PID[:SERIAL]",
	// "tcp:HOST:PORT", "emulator", "ipp://HOST[:PORT]/printers/NAME",
	// "ipps://…"). Required.
	Connection string `toml:"connection"`
	// Resolution is the print head's resolution in dpi: 300 or 600.
	Resolution int `toml:"resolution"`
	// Ribbon is the ribbon type loaded: k, ko, ymcko, ymckok, ymckos,
	// ymcfko or ymcfkok (Y, M, C colour, F fluorescent, K resin black,
	// O overlay, S half panel).
	Ribbon string `toml:"ribbon"`
	// FrontPanels are the panels printed on the front (color, k, overlay,
	// uv); each must be on the ribbon. Empty: every panel of the ribbon.
	FrontPanels []Panel `toml:"front_panels"`
	// BackPanels are the panels printed on the back of a duplex card.
	// Empty on a duplex printer: k alone for ribbons ending in a second
	// K (ymckok, ymcfkok), else every panel of the ribbon.
	BackPanels []Panel `toml:"back_panels"`
	// Duplex says whether the printer can print both sides.
	Duplex bool `toml:"duplex"`
	// Magnetic is the magnetic stripe encoder: none, hico or loco.
	Magnetic Magnetic `toml:"magnetic"`
	// Calibration shifts the printed image, per side, to match the card.
	Calibration Calibration `toml:"calibration"`
	// OnError is what the station does when this printer fails a card.
	OnError ErrorPolicy `toml:"on_error"`
	// StockLoaded is the number of blank cards loaded, recorded by the
	// technician (permanent mode reconciles blanks used against it).
	StockLoaded int `toml:"stock_loaded"`
	// PollInterval is how often the printer's status is polled.
	PollInterval time.Duration `toml:"poll_interval"`
	// IOTimeout bounds one exchange with the printer (a write or a reply).
	IOTimeout time.Duration `toml:"io_timeout"`
	// Emulator configures the in-process emulator. It is non-nil exactly
	// when Connection is "emulator"; a file may set it only then.
	Emulator *Emulator `toml:"emulator,omitempty"`
}

// Calibration holds image offsets in millimetres, positive to the right
// (x) and down (y) as the side is seen.
type Calibration struct {
	FrontXMM float64 `toml:"front_x_mm"`
	FrontYMM float64 `toml:"front_y_mm"`
	BackXMM  float64 `toml:"back_x_mm"`
	BackYMM  float64 `toml:"back_y_mm"`
}

// Policy is a printer's error policy.
type Policy string

// The error policies (after CUPS's printer error policies).
const (
	// PolicyRetryJob retries the job on the printer with back-off, up to
	// MaxRetries times, then holds it.
	PolicyRetryJob Policy = "retry-job"
	// PolicyHoldJob holds the failed job for an operator and goes on with
	// the next.
	PolicyHoldJob Policy = "hold-job"
	// PolicyStopPrinter stops the printer until an operator resumes it.
	PolicyStopPrinter Policy = "stop-printer"
)

// ErrorPolicy is what happens when a printer fails a card.
type ErrorPolicy struct {
	// Policy is retry-job, hold-job or stop-printer.
	Policy Policy `toml:"policy"`
	// MaxRetries bounds the retries of retry-job.
	MaxRetries int `toml:"max_retries"`
	// Backoff is the wait before the first retry; it doubles each time.
	Backoff time.Duration `toml:"backoff"`
	// MaxBackoff caps the wait between retries.
	MaxBackoff time.Duration `toml:"max_backoff"`
}

// Emulator configures an in-process emulated printer.
type Emulator struct {
	// Model is the model the emulator identifies as; empty for the
	// driver family's default model.
	Model string `toml:"model"`
	// Speed is a speed factor, as "cardd emulate --speed" and "cardd
	// demo --speed" take it: 1 prints at the real printer's pace, 2 twice
	// as fast, 0.1 ten times slower; 0 prints at once.
	Speed float64 `toml:"speed"`
	// CardsLoaded is the number of blank cards in the emulated feeder.
	CardsLoaded int `toml:"cards_loaded"`
	// RibbonPanels is the number of ribbon panel sets left on the emulated
	// ribbon.
	RibbonPanels int `toml:"ribbon_panels"`
	// HopperCapacity is how many printed cards the emulated output hopper
	// holds; a full hopper stops the printer (hopper-full) until it is
	// emptied.
	HopperCapacity int `toml:"hopper_capacity"`
	// RejectCapacity is how many cards the emulated reject box holds; a
	// full box stops the printer (reject-full) until it is emptied.
	RejectCapacity int `toml:"reject_capacity"`
	// Control is a TCP address ("127.0.0.1:9101") on which the daemon
	// serves the emulator's control channel, where an operator empties
	// the hopper and reject box ("cardd emulate empty --control ADDR");
	// empty for none.
	Control string `toml:"control"`
	// Output is a directory the emulator writes each printed card into as
	// PNG files; empty to keep nothing.
	Output string `toml:"output"`
	// Faults are faults to inject.
	Faults []Fault `toml:"faults"`
}

// FaultKind names an injectable emulator fault.
type FaultKind string

// The injectable faults.
const (
	FaultCoverOpen   FaultKind = "cover-open"
	FaultRibbonOut   FaultKind = "ribbon-out"
	FaultFeederEmpty FaultKind = "feeder-empty"
	FaultCardJam     FaultKind = "card-jam"
	FaultHopperFull  FaultKind = "hopper-full"
	FaultDisconnect  FaultKind = "disconnect"
)

// Fault is one injected emulator fault.
type Fault struct {
	// Kind is cover-open, ribbon-out, feeder-empty, card-jam, hopper-full
	// or disconnect (in the middle of a card's transfer).
	Kind FaultKind `toml:"kind"`
	// AtCard is the 1-based number of the card during which the fault
	// happens; 0 means from the start.
	AtCard int `toml:"at_card"`
}

// USB holds settings of USB printer discovery.
type USB struct {
	// ExtraVendorIDs are USB vendor ids searched for printers besides the
	// built-in ones (Evolis 0x0F49, Magicard 0x0C1F). TOML accepts hex
	// literals: [0x1234].
	ExtraVendorIDs []int `toml:"extra_vendor_ids"`
}

// Algorithm is a signature algorithm for the card credential.
type Algorithm string

// The signature algorithms.
const (
	AlgEd25519 Algorithm = "ed25519"
	AlgES256   Algorithm = "es256"
)

// Security holds the issuer's keys and lists, and serial numbering.
type Security struct {
	// SigningKey is the issuer's private key file (PKCS#8 PEM).
	SigningKey string `toml:"signing_key"`
	// Algorithm is ed25519 or es256.
	Algorithm Algorithm `toml:"algorithm"`
	// Issuer is the issuer URI put in the credential's iss claim.
	Issuer string `toml:"issuer"`
	// TrustList is the trust list file (issuers, key ids, public keys).
	TrustList string `toml:"trust_list"`
	// DenyList is the list of voided serials; default State/deny-list.json.
	DenyList string `toml:"deny_list"`
	// AuditLog is the append-only audit log; default State/audit.log.
	AuditLog string `toml:"audit_log"`
	// AuditKey is the private key that signs the audit log's checkpoints
	// (a golang.org/x/mod/sumdb/note Ed25519 key, generated on first start
	// with its verifier key beside it as AuditKey.pub).
	AuditKey string `toml:"audit_key"`
	// CheckpointEvery signs a checkpoint of the audit log after this many
	// records at most (besides one after every batch close).
	CheckpointEvery int `toml:"checkpoint_every"`
	// CheckpointInterval signs a checkpoint at least this often while
	// records were added.
	CheckpointInterval time.Duration `toml:"checkpoint_interval"`
	// SerialPrefix starts every card serial: 1–8 capital letters or
	// digits.
	SerialPrefix string `toml:"serial_prefix"`
	// SerialStation is the station's part of every card serial: 1–4
	// capital letters or digits, unique among the stations of an issuer
	// (two stations with the same code would issue the same serials).
	// When empty it is station.id upper-cased, which is allowed only when
	// that is itself a valid code; any other station.id requires it, since
	// cutting or dropping characters could make two stations collide.
	SerialStation string `toml:"serial_station"`
}

// Batching controls how permanent-mode jobs gather into batches.
type Batching struct {
	// Size is the number of jobs that closes a batch.
	Size int `toml:"size"`
	// Window is the longest a batch stays open after its first job.
	Window time.Duration `toml:"window"`
	// PerTemplate keeps jobs of different templates in different batches.
	PerTemplate bool `toml:"per_template"`
}

// Retention controls how long personal data stays on the station.
type Retention struct {
	// PersonalData is how long a job's photo and fields stay in the spool
	// after its outcome is final; 0 deletes them at once.
	PersonalData time.Duration `toml:"personal_data"`
}

// HTTP configures the daemon's local HTTP endpoint (health, status,
// metrics, dashboard).
type HTTP struct {
	// Listen is the address to listen on; empty disables the endpoint.
	// An address that is not loopback requires TLSCert, TLSKey and
	// TokenFile or ClientCA.
	Listen string `toml:"listen"`
	// TLSCert and TLSKey are the server certificate and key (PEM).
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// TokenFile holds the bearer token clients must present.
	TokenFile string `toml:"token_file"`
	// ClientCA is a CA bundle (PEM); when set, clients must present a
	// certificate it signed. Off loopback, it may stand in for TokenFile.
	ClientCA string `toml:"client_ca"`
	// AllowedHosts are host names (or IP addresses) besides the listen
	// address, "localhost" and the loopback addresses under which clients
	// may reach the endpoint: a request whose Host header names anything
	// else is refused (421), so a web page on a name rebound to this
	// machine (DNS rebinding) cannot read or act. No ports, no schemes.
	AllowedHosts []string `toml:"allowed_hosts"`
	// StallAfter makes /healthz answer 503 when the scheduler has made no
	// progress for this long while work is waiting (a job to admit or
	// print, an operator request). 0 turns the check off.
	StallAfter time.Duration `toml:"stall_after"`
}

// Dashboard configures the web dashboard.
type Dashboard struct {
	// Preview lets the dashboard show a thumbnail of the card being
	// printed (personal data); off by default.
	Preview bool `toml:"preview"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `toml:"level"`
	// Format is text or json.
	Format string `toml:"format"`
}

// SlogLevel returns the configured level as a slog.Level (info when the
// level is not one of the four names).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// DefaultPort is the default TCP port of the local HTTP endpoint.
const DefaultPort = 8631

// Default returns the default configuration, the one the embedded default
// file (EmbeddedTOML) describes, with its paths still relative (they
// resolve against the work directory given to Embedded). Its one printer
// is an in-process emulator.
func Default() *Config {
	return &Config{
		Station: Station{
			ID:                    "demo",
			Name:                  "cardd demo station",
			Mode:                  ModeTemporary,
			TemporaryValidityDays: 30,
			PermanentValidityDays: 5 * 365,
		},
		Paths: Paths{
			Spool: "spool",
			State: "state",
		},
		Printers: []Printer{DefaultEmulatorPrinter()},
		Security: Security{
			SigningKey:    "keys/issuer.key",
			Algorithm:     AlgEd25519,
			Issuer:        "https://demo.cardd.example/issuer",
			TrustList:     "keys/trust.json",
			SerialPrefix:  "DEMO",
			SerialStation: "DEMO",

			AuditKey:           "keys/audit.key",
			CheckpointEvery:    100,
			CheckpointInterval: 10 * time.Minute,
		},
		Batching: Batching{
			Size:        50,
			Window:      10 * time.Minute,
			PerTemplate: true,
		},
		Retention: Retention{PersonalData: 72 * time.Hour},
		HTTP:      HTTP{Listen: fmt.Sprintf("127.0.0.1:%d", DefaultPort), StallAfter: 2 * time.Minute},
		Portrait:  DefaultPortrait(),
		Log:       Log{Level: "info", Format: "text"},
	}
}

// DefaultPrinter returns the values every printer entry of a file starts
// from; Name, Driver and Connection are left empty (they are required).
func DefaultPrinter() Printer {
	return Printer{
		Resolution: 300,
		Ribbon:     "ymcko",
		Magnetic:   MagneticNone,
		OnError: ErrorPolicy{
			Policy:     PolicyRetryJob,
			MaxRetries: 3,
			Backoff:    5 * time.Second,
			MaxBackoff: 2 * time.Minute,
		},
		PollInterval: 2 * time.Second,
		IOTimeout:    30 * time.Second,
		Emulator:     DefaultEmulator(),
	}
}

// DefaultEmulator returns the emulator settings an emulated printer starts
// from.
func DefaultEmulator() *Emulator {
	return &Emulator{Speed: 1, CardsLoaded: 100, RibbonPanels: 200, HopperCapacity: 100, RejectCapacity: 20}
}

// DefaultEmulatorPrinter returns the printer of the default configuration:
// an in-process emulated duplex Evolis printer that prints instantly.
func DefaultEmulatorPrinter() Printer {
	p := DefaultPrinter()
	p.Name = "emulator"
	p.Driver = DriverEvolis
	p.Connection = "emulator"
	p.Duplex = true
	// Colour, black and overlay on both sides: the shipped permanent
	// template's back (background, labels, signature panel, stripe
	// band) needs them; a ymckok ribbon has only K for the back.
	p.Ribbon = "ymcko"
	p.StockLoaded = 100
	p.Emulator.Speed = 0
	p.Emulator.Output = "printed"
	return p
}

// Printer returns the printer named name.
func (c *Config) Printer(name string) (*Printer, bool) {
	for i := range c.Printers {
		if c.Printers[i].Name == name {
			return &c.Printers[i], true
		}
	}
	return nil, false
}
