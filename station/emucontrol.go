package station

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/cardd/cardd/printer/emulator"
)

// listenEmulatorControls opens the control channel of each in-process
// emulated printer that names one (printers.emulator.control), where an
// operator empties its output hopper and reject box ("cardd emulate empty
// --control ADDR"), and adds a component serving it. A bad or busy address
// is a configuration error.
func (s *Station) listenEmulatorControls(ctx context.Context) error {
	for _, p := range s.printers {
		ec := p.cfg.Emulator
		if ec == nil || ec.Control == "" {
			continue
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", ec.Control)
		if err != nil {
			return ConfigError{Err: fmt.Errorf("printers %s: emulator.control: listen on %s: %w", p.cfg.Name, ec.Control, err)}
		}
		s.ctrl = append(s.ctrl, emulatorControl{printer: p.cfg.Name, ln: ln})
		log := p.log.With("part", "emulator control", "addr", ln.Addr().String())
		h := emulator.ControlHandler(func() *emulator.Machine {
			if op := p.emulator(); op != nil {
				return op.Emu.Machine()
			}
			return nil
		})
		s.Add("emulator control "+p.cfg.Name, ComponentFunc(func(ctx context.Context) error {
			log.Info("emulator control channel listening")
			return emulator.ServeControl(ctx, ln, h, log)
		}))
	}
	return nil
}

// EmulatorControlAddr is the address of the control channel of the
// emulated printer named name, nil when it has none.
func (s *Station) EmulatorControlAddr(name string) net.Addr {
	for _, c := range s.ctrl {
		if c.printer == name {
			return c.ln.Addr()
		}
	}
	return nil
}

// closeEmulatorControls closes the control listeners (those a running
// control channel closed already are skipped).
func (s *Station) closeEmulatorControls() error {
	var errs []error
	for _, c := range s.ctrl {
		if err := c.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// emulatorControl is the listener of one emulated printer's control
// channel.
type emulatorControl struct {
	printer string
	ln      net.Listener
}
