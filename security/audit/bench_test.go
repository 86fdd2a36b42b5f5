package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

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

// BenchmarkOpenState opens a log of 10,000 records from its open state
// covering all but the last 1,000 (open), and then verifies the prefix
// as the station does in the background after it started (verify).
func BenchmarkOpenState(b *testing.B) {
	path := filepath.Join(b.TempDir(), "audit.log")
	recs := stateRecords(4200)[:10000]
	appendAll(b, path, Options{State: true, StateEvery: 1 << 30}, recs[:9000])
	appendAll(b, path, Options{}, recs[9000:])
	for _, verify := range []bool{false, true} {
		name := "open"
		if verify {
			name = "verify"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var cpu time.Duration
			for range b.N {
				b.StopTimer()
				c0 := benchcpu.Process()
				if !verify {
					b.StartTimer()
				}
				l, err := OpenWith(path, Options{State: true})
				if err != nil {
					b.Fatal(err)
				}
				if l.claim == nil {
					b.Fatal("not opened from the state")
				}
				if verify {
					c0 = benchcpu.Process()
					b.StartTimer()
					if err := l.checkClaim(context.Background(), l.claim); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				cpu += benchcpu.Process() - c0
				l.Close()
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
