package logtransport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/cardd/cardd/printer"
)

type fake struct{ reply []byte }

func (f *fake) Write(ctx context.Context, p []byte) (int, error) {
	if len(p) > 4 {
		return 4, printer.ErrNoDevice
	}
	return len(p), nil
}
func (f *fake) Read(ctx context.Context, p []byte) (int, error) { return copy(p, f.reply), nil }
func (f *fake) Close() error                                    { return nil }
func (f *fake) String() string                                  { return "fake" }

func TestDumps(t *testing.T) {
	tests := []struct {
		name  string
		level slog.Level
		want  []string
		not   []string
	}{
		{"debug", slog.LevelDebug, []string{"msg=write", "1b 52 73 ", "msg=read", "|OK.|", "write failed", "truncated=true", "transport=fake"}, nil},
		{"info", slog.LevelInfo, []string{"write failed"}, []string{"msg=read", "1b 52"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level}))
			lt := New(&fake{reply: []byte("OK\r")}, log, 3)
			ctx := context.Background()
			lt.Write(ctx, []byte("\x1bRs"))
			lt.Read(ctx, make([]byte, 8))
			if _, err := lt.Write(ctx, []byte("\x1bRsn\r")); !errors.Is(err, printer.ErrNoDevice) {
				t.Errorf("error not passed through: %v", err)
			}
			out := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("log lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("log has %q:\n%s", w, out)
				}
			}
		})
	}
}

// cancelled fails every call with the context's error, as a transport does
// when its caller gives up.
type cancelled struct{ fake }

func (cancelled) Write(ctx context.Context, p []byte) (int, error) { return 0, ctx.Err() }

// TestCancelledIsNotAWarning: a write ended by a cancelled context (the
// daemon shutting down) is logged at debug level, not as a warning.
func TestCancelledIsNotAWarning(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	lt := New(&cancelled{}, log, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lt.Write(ctx, []byte("\x1bRsn\r")); !errors.Is(err, context.Canceled) {
		t.Fatalf("error not passed through: %v", err)
	}
	if out := buf.String(); out != "" {
		t.Errorf("a cancelled write logged at info or above:\n%s", out)
	}
}
