package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
)

// BenchmarkOpen opens (verifies, builds the tree of) a log of 10000
// records.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "audit.log")
	l, err := Open(path, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range 10000 {
		if _, err := l.Append(ctx, Record{Event: EventVoided, Serial: fmt.Sprintf("CARD-01-%07d-X", i), Reason: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	l.Close()
	b.ReportAllocs()
	start := benchcpu.Process()
	b.ResetTimer()
	for range b.N {
		l, err := Open(path, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
	b.StopTimer()
	benchcpu.ReportProcess(b, start)
}
