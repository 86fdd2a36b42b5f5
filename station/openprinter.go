package station

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/evolis"
	"github.com/cardd/cardd/printer/ipp"
	"github.com/cardd/cardd/printer/logtransport"
	"github.com/cardd/cardd/printer/magicard"
	"github.com/cardd/cardd/printer/tcp"
	"github.com/cardd/cardd/printer/usb"
)

// driver is one printer command language the station can drive.
type driver struct {
	// name is the config's driver value.
	name config.Driver
	// vendor is the family's USB vendor ID, used when a "usb" connection
	// names no vendor.
	vendor uint16
	// emulator is the emulator front end speaking the language.
	emulator string
	// new builds the driver on an open transport for a configured printer.
	new func(t printer.Transport, p *config.Printer, log *slog.Logger) printer.Printer
	// queue builds a driver that reaches its printer through a print
	// queue rather than a transport (ipp); nil for the others.
	queue func(uri string, p *config.Printer, log *slog.Logger) (printer.Printer, error)
}

// drivers is the table of printer drivers: a value built here, not a
// registry filled by init functions.
func drivers() []driver {
	return []driver{
		{name: config.DriverEvolis, vendor: usb.VendorEvolis, emulator: "evolis", new: newEvolis},
		{name: config.DriverMagicard, vendor: usb.VendorMagicard, emulator: "magicard", new: newMagicard},
		{name: config.DriverIPP, queue: newIPP},
	}
}

// driverFor returns the table entry for name.
func driverFor(name config.Driver) (driver, error) {
	for _, d := range drivers() {
		if d.name == name {
			return d, nil
		}
	}
	return driver{}, fmt.Errorf("no driver %q", name)
}

func newEvolis(t printer.Transport, p *config.Printer, log *slog.Logger) printer.Printer {
	o := evolis.DefaultOpts()
	o.Ribbon = p.Ribbon
	o.OffsetXMM, o.OffsetYMM = p.Calibration.FrontXMM, p.Calibration.FrontYMM
	o.BackOffsetXMM, o.BackOffsetYMM = p.Calibration.BackXMM, p.Calibration.BackYMM
	o.Duplex = p.Duplex
	o.Magnetic = p.Magnetic != "" && p.Magnetic != config.MagneticNone
	if p.IOTimeout > 0 {
		o.CommandTimeout = p.IOTimeout
	}
	return evolis.New(t, &o, log)
}

func newMagicard(t printer.Transport, p *config.Printer, log *slog.Logger) printer.Printer {
	o := magicard.DefaultOpts
	o.AutoFormat = true
	o.OffsetX, o.OffsetY = p.Calibration.FrontXMM, p.Calibration.FrontYMM
	o.BackOffsetX, o.BackOffsetY = p.Calibration.BackXMM, p.Calibration.BackYMM
	if p.Magnetic == config.MagneticLoCo {
		o.MagCoercivity = 'L'
	}
	if p.IOTimeout > 0 {
		o.ReplyTimeout = p.IOTimeout
	}
	if p.PollInterval > 0 {
		o.PollInterval = p.PollInterval
	}
	return magicard.New(t, &o, log)
}

func newIPP(uri string, p *config.Printer, log *slog.Logger) (printer.Printer, error) {
	o := ipp.DefaultOpts
	o.Ribbon = p.Ribbon
	if p.IOTimeout > 0 {
		o.RequestTimeout = p.IOTimeout
	}
	if p.PollInterval > 0 {
		o.PollInterval = p.PollInterval
	}
	return ipp.New(uri, &o, log)
}

// OpenedPrinter is a configured printer with its transport open.
type OpenedPrinter struct {
	// Config is the printer's configuration entry.
	Config *config.Printer
	// Dev is the driver, built on Transport.
	Dev printer.Printer
	// Transport is the open link (with debug-level traffic logging); nil
	// for an IPP queue, which the driver reaches over HTTP itself.
	Transport printer.Transport
	// Emu is the in-process emulator behind an "emulator" connection
	// (nil for USB and TCP printers).
	Emu *emulator.Emulator
	// DeviceID is the IEEE-1284 device ID a USB printer reported.
	DeviceID string
}

// Close closes the transport (the driver never does).
func (o *OpenedPrinter) Close() error {
	if o.Transport == nil {
		return nil
	}
	return o.Transport.Close()
}

// OpenPrinter opens the transport a configured printer's connection names
// and builds its driver. Configuration mistakes (unknown driver, bad
// connection string, bad emulator section) are ConfigErrors. The caller
// closes the result.
func OpenPrinter(ctx context.Context, p *config.Printer, log *slog.Logger) (*OpenedPrinter, error) {
	d, err := driverFor(p.Driver)
	if err != nil {
		return nil, ConfigError{Err: fmt.Errorf("printer %s: %w", p.Name, err)}
	}
	conn, err := config.ParseConnection(p.Connection)
	if err != nil {
		return nil, ConfigError{Err: fmt.Errorf("printer %s: connection: %w", p.Name, err)}
	}
	log = log.With("printer", p.Name)
	op := &OpenedPrinter{Config: p}
	if (d.queue != nil) != (conn.Kind == config.ConnIPP) {
		return nil, ConfigError{Err: fmt.Errorf("printer %s: driver %s cannot use connection %q", p.Name, p.Driver, p.Connection)}
	}
	if d.queue != nil {
		dev, err := d.queue(conn.URI, p, log)
		if err != nil {
			return nil, ConfigError{Err: fmt.Errorf("printer %s: %w", p.Name, err)}
		}
		op.Dev = dev
		return op, nil
	}
	switch conn.Kind {
	case config.ConnUSB:
		sel := usb.Selector{VID: conn.VendorID, PID: conn.ProductID, Serial: conn.Serial}
		if sel.VID == 0 {
			sel.VID = d.vendor
		}
		uo := usb.DefaultOpts()
		uo.Log = log
		if p.IOTimeout > 0 {
			uo.WriteTimeout, uo.ReadTimeout = p.IOTimeout, p.IOTimeout
		}
		t, err := usb.Open(ctx, sel, uo)
		if err != nil {
			return nil, fmt.Errorf("printer %s: %w", p.Name, err)
		}
		op.Transport, op.DeviceID = t, t.Info().DeviceID
	case config.ConnTCP:
		to := tcp.DefaultOpts()
		if p.IOTimeout > 0 {
			to.WriteTimeout, to.ReadTimeout = p.IOTimeout, p.IOTimeout
		}
		t, err := tcp.Dial(ctx, conn.Address, &to)
		if err != nil {
			return nil, fmt.Errorf("printer %s: %w", p.Name, err)
		}
		op.Transport = t
	case config.ConnEmulator:
		emu, err := newEmulator(p, d.emulator, log)
		if err != nil {
			return nil, ConfigError{Err: fmt.Errorf("printer %s: %w", p.Name, err)}
		}
		op.Emu, op.Transport = emu, emu.Transport()
	default:
		return nil, ConfigError{Err: fmt.Errorf("printer %s: connection kind %q not supported", p.Name, conn.Kind)}
	}
	// Traffic hex dumps at debug level (cardd printers -v).
	op.Transport = logtransport.New(op.Transport, log, 0)
	op.Dev = d.new(op.Transport, p, log)
	return op, nil
}

// newEmulator builds the in-process emulator a printer entry describes.
// Emulated time runs on a virtual clock when speed is 0 (instant).
func newEmulator(p *config.Printer, lang string, log *slog.Logger) (*emulator.Emulator, error) {
	l, err := emulator.LanguageByName(lang)
	if err != nil {
		return nil, err
	}
	ec := p.Emulator
	if ec == nil {
		ec = config.DefaultEmulator()
	}
	id := l.Identity
	if ec.Model != "" {
		id.Model = ec.Model
	}
	if p.Ribbon != "" {
		id.Ribbon = strings.ToUpper(p.Ribbon)
	}
	id.Duplex = p.Duplex
	id.Magnetic = p.Magnetic != "" && p.Magnetic != config.MagneticNone
	perSet := max(len(p.Ribbon), 1) // panels in one set of the ribbon
	o := &emulator.Options{
		Identity:       id,
		Geometry:       printer.CR80(max(p.Resolution, 300)),
		RibbonPanels:   ec.RibbonPanels * perSet,
		FeederCards:    ec.CardsLoaded,
		HopperCapacity: ec.HopperCapacity,
		RejectCapacity: ec.RejectCapacity,
		Speed:          ec.Speed,
		OutDir:         ec.Output,
		// A daemon's emulator runs for ever: remember only recent cards.
		KeepCards: 16,
		Log:       log,
	}
	if ec.Speed == 0 {
		o.Clock = emulator.NewFakeClock(time.Now())
	}
	for _, f := range ec.Faults {
		if err := addFault(&o.Faults, f, perSet); err != nil {
			return nil, err
		}
	}
	return emulator.New(l, o)
}

// addFault turns a configured fault into the emulator's fault plan.
// at_card N means the fault strikes during card N (0: from the start).
func addFault(plan *emulator.FaultPlan, f config.Fault, panelsPerCard int) error {
	n := f.AtCard
	switch f.Kind {
	case config.FaultCoverOpen:
		if n > 0 {
			return fmt.Errorf("emulator fault %s: only from the start (at_card 0)", f.Kind)
		}
		plan.CoverOpen = true
	case config.FaultFeederEmpty:
		if n > 0 {
			return fmt.Errorf("emulator fault %s: only from the start (at_card 0); lower cards_loaded instead", f.Kind)
		}
		plan.FeederEmpty = true
	case config.FaultHopperFull:
		if n > 0 {
			return fmt.Errorf("emulator fault %s: only from the start (at_card 0)", f.Kind)
		}
		plan.HopperFull = true
	case config.FaultRibbonOut:
		// The ribbon ends after the first panel of card N.
		if n == 0 {
			return fmt.Errorf("emulator fault %s: give at_card (1 or more)", f.Kind)
		}
		plan.RibbonOutAfter = (n-1)*panelsPerCard + 1
	case config.FaultCardJam:
		plan.JamAtCard = max(n, 1)
	case config.FaultDisconnect:
		// Roughly a third of the way into card N's transfer, taking a
		// card as about 2 MB of traffic (a duplex colour card).
		plan.DisconnectAtByte = int64(max(n-1, 0))*2_000_000 + 600_000
	default:
		return fmt.Errorf("emulator fault %q unknown", f.Kind)
	}
	return nil
}
