//go:build cgo

package usb

import (
	"context"
	"testing"
	"time"
)

// BenchmarkWriteChunks measures the chunking loop's own cost for a 4 MiB
// duplex card stream against an endpoint that accepts everything.
func BenchmarkWriteChunks(b *testing.B) {
	data := make([]byte, 4<<20)
	w := nopOut{}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := writeChunks(context.Background(), w, data, 64<<10, time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

type nopOut struct{}

func (nopOut) WriteContext(ctx context.Context, p []byte) (int, error) { return len(p), nil }
