package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cardd/cardd/printer"
)

// The control channel is what a person standing at the printer does,
// reached over a small HTTP endpoint on loopback: a real printer's output
// hopper and reject box are emptied by hand, not by a command of its
// language, so the emulator takes that action beside its printer port.
//
//	GET  /state                  the mechanism's counters and conditions
//	POST /empty?box=hopper       take the printed cards out of the hopper
//	POST /empty?box=reject       take the cards out of the reject box
//	POST /empty (or box=both)    both
//
// Both answer JSON (ControlState; /empty adds what was taken out).
// "cardd emulate empty --control ADDR" is its client; curl works too.

// ControlState is the JSON form of State that the control channel answers.
type ControlState struct {
	CoverOpen      bool             `json:"cover_open"`
	Jammed         bool             `json:"jammed"`
	CardInside     bool             `json:"card_inside"`
	RibbonLeft     int              `json:"ribbon_left"`
	RibbonCapacity int              `json:"ribbon_capacity"`
	FeederCards    int              `json:"feeder_cards"`
	HopperCards    int              `json:"hopper_cards"`
	HopperCapacity int              `json:"hopper_capacity"`
	RejectCards    int              `json:"reject_cards"`
	RejectCapacity int              `json:"reject_capacity"`
	CardsFed       int              `json:"cards_fed"`
	CardsPrinted   int              `json:"cards_printed"`
	PanelsPrinted  int              `json:"panels_printed"`
	Connected      bool             `json:"connected"`
	Reasons        []printer.Reason `json:"reasons"`
}

func controlState(s State) ControlState {
	r := s.Reasons()
	if r == nil {
		r = []printer.Reason{}
	}
	return ControlState{
		CoverOpen: s.CoverOpen, Jammed: s.Jammed, CardInside: s.CardInside,
		RibbonLeft: s.RibbonLeft, RibbonCapacity: s.RibbonCapacity, FeederCards: s.FeederCards,
		HopperCards: s.HopperCards, HopperCapacity: s.HopperCapacity,
		RejectCards: s.RejectCards, RejectCapacity: s.RejectCapacity,
		CardsFed: s.CardsFed, CardsPrinted: s.CardsPrinted, PanelsPrinted: s.PanelsPrinted,
		Connected: s.Connected, Reasons: r,
	}
}

// EmptyReply is the control channel's answer to POST /empty.
type EmptyReply struct {
	// Emptied is what was taken out.
	Emptied Emptied `json:"emptied"`
	// State is the mechanism afterwards.
	State ControlState `json:"state"`
}

// ControlHandler serves the control channel for the machine that machine
// returns; nil (a printer not opened yet) is answered with 503.
func ControlHandler(machine func() *Machine) http.Handler {
	mux := http.NewServeMux()
	get := func(w http.ResponseWriter) *Machine {
		m := machine()
		if m == nil {
			http.Error(w, "emulator: the printer is not open yet", http.StatusServiceUnavailable)
		}
		return m
	}
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		if m := get(w); m != nil {
			writeJSON(w, controlState(m.State()))
		}
	})
	mux.HandleFunc("POST /empty", func(w http.ResponseWriter, r *http.Request) {
		b, err := ParseBox(r.URL.Query().Get("box"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m := get(w)
		if m == nil {
			return
		}
		got, err := m.EmptyBoxes(b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, EmptyReply{Emptied: got, State: controlState(m.State())})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to do
}

// ControlHandler serves the control channel for this emulator.
func (e *Emulator) ControlHandler() http.Handler {
	return ControlHandler(func() *Machine { return e.m })
}

// ServeControl serves h (a ControlHandler) on ln until ctx ends, then
// closes ln and returns nil.
func ServeControl(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx) // closes ln; a slow client is cut off
	})
	defer stop()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("emulator: control channel on %s: %w", ln.Addr(), err)
}
