package magicard

import (
	"fmt"
	"time"
)

// Format is a generation of Magicard plane layout.
type Format int

// The plane formats.
const (
	// FormatRio is the Tango 2E / Rio layout: 1016 rows of 672 dots, colour
	// as six 84-byte bit-plane stripes per row. It is the default.
	FormatRio Format = iota
	// FormatEnduro is the Enduro/Pronto layout: 1016 lines of 768-bit
	// columns (24 big-endian 32-bit words). See the package documentation
	// for what is uncertain about it.
	FormatEnduro
)

// String names the format as config files do.
func (f Format) String() string {
	switch f {
	case FormatRio:
		return "rio"
	case FormatEnduro:
		return "enduro"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat returns the format named s ("rio", "tango", "enduro",
// "pronto").
func ParseFormat(s string) (Format, error) {
	switch s {
	case "rio", "tango", "":
		return FormatRio, nil
	case "enduro", "pronto":
		return FormatEnduro, nil
	}
	return 0, fmt.Errorf("magicard: unknown plane format %q (want rio or enduro)", s)
}

// Opts configures a Dev. The zero value of a field means its default; use
// DefaultOpts as the starting point.
type Opts struct {
	// Format is the plane layout the printer expects.
	Format Format
	// ColorPower, BlackPower and OverlayPower are the head powers sent as
	// CPW, KPW and OPW, 1–100; 50 is the printer's own default.
	ColorPower, BlackPower, OverlayPower int
	// OffsetX and OffsetY move everything printed on the front by this
	// many millimetres (right and down on the card as seen), to correct a
	// printer's placement; the calibrate command measures them.
	OffsetX, OffsetY float64
	// BackOffsetX and BackOffsetY do the same for the back.
	BackOffsetX, BackOffsetY float64
	// AutoFormat picks the plane format from the printer's INF model flags
	// before each job (the Pronto flag selects FormatEnduro), overriding
	// Format.
	AutoFormat bool
	// MaxHoles bounds the NCT holes an overlay mask may be cut into; a mask
	// needing more is refused.
	MaxHoles int
	// MagCoercivity is 'H' (high, 2750–4000 Oe cards) or 'L' (low, 300 Oe).
	MagCoercivity byte
	// MagVerify asks the printer to read back what it encoded (MGVON).
	MagVerify bool
	// ReplyTimeout bounds the wait for one status reply.
	ReplyTimeout time.Duration
	// PollInterval is the pause between status polls while a card prints.
	PollInterval time.Duration
	// PrintTimeout bounds the wait for a sent card to come out; past it the
	// outcome is unknown.
	PrintTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// After returns a channel that fires after d; nil means time.After.
	// Tests inject their own to control polling.
	After func(d time.Duration) <-chan time.Time

	// slow makes the encoder take the shared panel helpers' path even
	// where its fast path applies (tests check both give the same bytes).
	slow bool
}

// DefaultOpts are the options New uses for a nil *Opts.
var DefaultOpts = Opts{
	Format:        FormatRio,
	ColorPower:    50,
	BlackPower:    50,
	OverlayPower:  50,
	MaxHoles:      32,
	MagCoercivity: 'H',
	ReplyTimeout:  3 * time.Second,
	PollInterval:  250 * time.Millisecond,
	PrintTimeout:  3 * time.Minute,
}

// withDefaults returns a copy of o with zero fields set from DefaultOpts.
func (o *Opts) withDefaults() Opts {
	var r Opts
	if o != nil {
		r = *o
	}
	d := DefaultOpts
	if r.ColorPower == 0 {
		r.ColorPower = d.ColorPower
	}
	if r.BlackPower == 0 {
		r.BlackPower = d.BlackPower
	}
	if r.OverlayPower == 0 {
		r.OverlayPower = d.OverlayPower
	}
	if r.MaxHoles == 0 {
		r.MaxHoles = d.MaxHoles
	}
	if r.MagCoercivity == 0 {
		r.MagCoercivity = d.MagCoercivity
	}
	if r.ReplyTimeout == 0 {
		r.ReplyTimeout = d.ReplyTimeout
	}
	if r.PollInterval == 0 {
		r.PollInterval = d.PollInterval
	}
	if r.PrintTimeout == 0 {
		r.PrintTimeout = d.PrintTimeout
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.After == nil {
		r.After = time.After
	}
	return r
}

// validate checks the options that end up on the wire.
func (o *Opts) validate() error {
	for _, p := range []struct {
		name string
		v    int
	}{{"ColorPower", o.ColorPower}, {"BlackPower", o.BlackPower}, {"OverlayPower", o.OverlayPower}} {
		if p.v < 1 || p.v > 100 {
			return fmt.Errorf("magicard: %s %d outside 1–100", p.name, p.v)
		}
	}
	if o.MagCoercivity != 'H' && o.MagCoercivity != 'L' {
		return fmt.Errorf("magicard: MagCoercivity %q: want 'H' or 'L'", o.MagCoercivity)
	}
	for _, v := range []float64{o.OffsetX, o.OffsetY, o.BackOffsetX, o.BackOffsetY} {
		if v < -10 || v > 10 {
			return fmt.Errorf("magicard: calibration offset %.2f mm outside ±10 mm", v)
		}
	}
	if o.Format != FormatRio && o.Format != FormatEnduro {
		return fmt.Errorf("magicard: unknown %v", o.Format)
	}
	return nil
}
