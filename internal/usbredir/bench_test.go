package usbredir

import (
	"context"
	"testing"
)

func BenchmarkParsePacket(b *testing.B) {
	data := make([]byte, 64<<10)
	wire := AppendPacket(nil, true, TypeBulkPacket, 42, BulkHeader{Endpoint: 2, Length: uint32(len(data))}.Marshal(true), data)
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		p, _, err := ParsePacket(wire, true)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := ParseBulk(p.Body, true); err != nil {
			b.Fatal(err)
		}
	}
}

// discardBrain accepts everything and never replies.
type discardBrain struct{}

func (discardBrain) Write(ctx context.Context, p []byte) (int, error) { return len(p), nil }
func (discardBrain) Read(ctx context.Context, p []byte) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// BenchmarkDeviceBulkOut measures the device side carrying 64 KiB bulk OUT
// transfers from a fake QEMU over a socketpair to the brain, each answered.
func BenchmarkDeviceBulkOut(b *testing.B) {
	a, c := socketpair(b)
	d := New(Config{Identity: EvolisPrimacy("BENCH"), Brain: discardBrain{}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, a) }()
	defer func() { cancel(); c.Close(); <-done }()
	if _, err := ReadPacket(c, false); err != nil {
		b.Fatal(err)
	}
	caps := uint32(1<<Cap64BitIDs | 1<<Cap32BitsBulkLength | 1<<CapEPInfoMaxPacketSize)
	c.Write(AppendPacket(nil, false, TypeHello, 0, Hello{Version: "bench", Caps: caps}.Marshal()))
	for range 3 { // interface info, ep info, connect
		if _, err := ReadPacket(c, true); err != nil {
			b.Fatal(err)
		}
	}
	data := make([]byte, 64<<10)
	hdr := BulkHeader{Endpoint: 0x02, Length: uint32(len(data))}.Marshal(true)
	var id uint64
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		id++
		if _, err := c.Write(AppendPacket(nil, true, TypeBulkPacket, id, hdr, data)); err != nil {
			b.Fatal(err)
		}
		p, err := ReadPacket(c, true)
		if err != nil || p.ID != id {
			b.Fatalf("reply %+v %v", p.Header, err)
		}
	}
}
