// Package logtransport is a printer.Transport decorator that logs the
// device traffic: every Write and Read as a hex dump at debug level, and
// transport errors at warn level (a cancelled context at debug). Dumps are only built when the logger has
// debug enabled, so the decorator costs next to nothing otherwise.
package logtransport

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"

	"github.com/cardd/cardd/printer"
)

// DefaultMaxDump is the number of bytes dumped per call by default; the
// rest is counted but not shown.
const DefaultMaxDump = 256

// Transport logs the traffic of the transport it wraps.
type Transport struct {
	t       printer.Transport
	log     *slog.Logger
	maxDump int
}

var _ printer.Transport = (*Transport)(nil)

// New wraps t. log receives the dumps (scoped with the transport's name);
// maxDump bounds each dump (0 means DefaultMaxDump).
func New(t printer.Transport, log *slog.Logger, maxDump int) *Transport {
	if maxDump <= 0 {
		maxDump = DefaultMaxDump
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Transport{t: t, log: log.With("transport", t.String()), maxDump: maxDump}
}

func (l *Transport) dump(ctx context.Context, msg string, p []byte, err error) {
	if err != nil {
		// A cancelled context is the caller giving up (a shutdown, an
		// operator's stop), not a fault of the link: debug, not a warning.
		level := slog.LevelWarn
		if errors.Is(err, context.Canceled) {
			level = slog.LevelDebug
		}
		l.log.LogAttrs(ctx, level, msg+" failed", slog.Int("bytes", len(p)), slog.Any("err", err))
	}
	if len(p) == 0 || !l.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	shown := p
	if len(shown) > l.maxDump {
		shown = shown[:l.maxDump]
	}
	l.log.LogAttrs(ctx, slog.LevelDebug, msg,
		slog.Int("bytes", len(p)),
		slog.Bool("truncated", len(shown) < len(p)),
		slog.String("hex", hex.Dump(shown)))
}

// Write writes through and logs the bytes accepted.
func (l *Transport) Write(ctx context.Context, p []byte) (int, error) {
	n, err := l.t.Write(ctx, p)
	l.dump(ctx, "write", p[:n], err)
	return n, err
}

// Read reads through and logs the bytes received.
func (l *Transport) Read(ctx context.Context, p []byte) (int, error) {
	n, err := l.t.Read(ctx, p)
	l.dump(ctx, "read", p[:n], err)
	return n, err
}

// Close closes the wrapped transport.
func (l *Transport) Close() error { return l.t.Close() }

// String describes the wrapped transport.
func (l *Transport) String() string { return l.t.String() }
