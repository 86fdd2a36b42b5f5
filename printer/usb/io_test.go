//go:build cgo

package usb

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/gousb"

	"github.com/cardd/cardd/printer"
)

// fakeOut records the transfers it is given. accept limits how many bytes
// each transfer takes (0 = all); failAt makes transfer number failAt fail.
type fakeOut struct {
	got       bytes.Buffer
	transfers []int
	accept    int
	failAt    int
	failWith  error
	block     bool // wait for ctx like a device that never drains
}

func (f *fakeOut) WriteContext(ctx context.Context, p []byte) (int, error) {
	f.transfers = append(f.transfers, len(p))
	if f.block {
		<-ctx.Done()
		return 0, gousb.TransferCancelled
	}
	if f.failAt > 0 && len(f.transfers) == f.failAt {
		return 0, f.failWith
	}
	n := len(p)
	if f.accept > 0 && n > f.accept {
		n = f.accept
	}
	f.got.Write(p[:n])
	return n, nil
}

func TestWriteChunks(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160,000 bytes
	tests := []struct {
		name      string
		out       *fakeOut
		chunk     int
		wantN     int
		wantSizes []int
		wantErr   error
	}{
		{name: "64 KiB chunks", out: &fakeOut{}, chunk: 64 << 10, wantN: len(data),
			wantSizes: []int{65536, 65536, 28928}},
		{name: "partial transfers continue", out: &fakeOut{accept: 50000}, chunk: 64 << 10, wantN: len(data),
			wantSizes: []int{65536, 65536, 60000, 10000}},
		{name: "device lost mid-stream", out: &fakeOut{failAt: 2, failWith: gousb.TransferNoDevice}, chunk: 64 << 10,
			wantN: 65536, wantSizes: []int{65536, 65536}, wantErr: printer.ErrNoDevice},
		{name: "stall", out: &fakeOut{failAt: 1, failWith: gousb.TransferStall}, chunk: 1000,
			wantN: 0, wantSizes: []int{1000}, wantErr: printer.ErrStall},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, err := writeChunks(context.Background(), tc.out, data, tc.chunk, time.Second)
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if n != tc.wantN {
				t.Errorf("n = %d, want %d", n, tc.wantN)
			}
			if !bytes.Equal(tc.out.got.Bytes(), data[:n]) {
				t.Errorf("device received %d bytes that differ from the first %d sent", tc.out.got.Len(), n)
			}
			if len(tc.out.transfers) != len(tc.wantSizes) {
				t.Fatalf("transfers %v, want %v", tc.out.transfers, tc.wantSizes)
			}
			for i := range tc.wantSizes {
				if tc.out.transfers[i] != tc.wantSizes[i] {
					t.Fatalf("transfers %v, want %v", tc.out.transfers, tc.wantSizes)
				}
			}
		})
	}
}

func TestWriteChunksTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	_, err := writeChunks(context.Background(), &fakeOut{block: true}, make([]byte, 10), 64, 20*time.Millisecond)
	if !errors.Is(err, printer.ErrTimeout) {
		t.Errorf("stuck transfer: err = %v, want ErrTimeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err = writeChunks(ctx, &fakeOut{block: true}, make([]byte, 10), 64, time.Hour)
	if !errors.Is(err, context.Canceled) || errors.Is(err, printer.ErrTimeout) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
}

// fakeIn returns its replies one per transfer, then blocks.
type fakeIn struct {
	replies [][]byte
	sizes   []int
}

func (f *fakeIn) ReadContext(ctx context.Context, p []byte) (int, error) {
	f.sizes = append(f.sizes, len(p))
	if len(f.replies) == 0 {
		<-ctx.Done()
		return 0, gousb.TransferCancelled
	}
	r := f.replies[0]
	f.replies = f.replies[1:]
	if len(r) > len(p) {
		return 0, gousb.TransferOverflow
	}
	return copy(p, r), nil
}

func TestReadPacket(t *testing.T) {
	t.Parallel()
	in := &fakeIn{replies: [][]byte{[]byte("OK\r"), []byte("ERR CARD POSITION\r")}}
	p := make([]byte, 4)
	n, rest, err := readPacket(context.Background(), in, p, 512, time.Second)
	if err != nil || string(p[:n]) != "OK\r" || rest != nil {
		t.Fatalf("first read: %q rest %q err %v", p[:n], rest, err)
	}
	if in.sizes[0] != 512 {
		t.Errorf("transfer buffer %d bytes, want one 512-byte packet", in.sizes[0])
	}
	n, rest, err = readPacket(context.Background(), in, p, 512, time.Second)
	if err != nil || string(p[:n]) != "ERR " || string(rest) != "CARD POSITION\r" {
		t.Fatalf("second read: %q rest %q err %v", p[:n], rest, err)
	}
	_, _, err = readPacket(context.Background(), in, p, 512, 20*time.Millisecond)
	if !errors.Is(err, printer.ErrTimeout) {
		t.Fatalf("idle read: err %v, want ErrTimeout", err)
	}
}

func TestClaimWithRetry(t *testing.T) {
	t.Parallel()
	busy := mapErr(errors.New("failed to claim interface 0: " + gousb.ErrorBusy.Error()))
	tests := []struct {
		name      string
		failures  int
		failWith  error
		attempts  int
		wantCalls int
		wantErr   error
	}{
		{name: "free at once", failures: 0, attempts: 10, wantCalls: 1},
		{name: "busy twice", failures: 2, failWith: busy, attempts: 10, wantCalls: 3},
		{name: "busy forever", failures: 99, failWith: busy, attempts: 4, wantCalls: 4, wantErr: printer.ErrBusy},
		{name: "other error stops", failures: 99, failWith: mapErr(gousb.ErrorNoDevice), attempts: 10, wantCalls: 1, wantErr: printer.ErrNoDevice},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var slept []time.Duration
			o := Opts{ClaimAttempts: tc.attempts, ClaimInterval: time.Second,
				Sleep: func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }}.withDefaults()
			calls := 0
			err := claimWithRetry(context.Background(), o, slog.New(slog.DiscardHandler), func() error {
				calls++
				if calls <= tc.failures {
					return tc.failWith
				}
				return nil
			})
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tc.wantCalls)
			}
			if len(slept) != max(calls-1, 0) {
				t.Errorf("slept %d times for %d calls", len(slept), calls)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := Opts{ClaimAttempts: 5}.withDefaults()
	err := claimWithRetry(ctx, o, slog.New(slog.DiscardHandler), func() error { return busy })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled claim: err = %v", err)
	}
}

func TestListWithoutUSB(t *testing.T) {
	t.Parallel()
	// On a machine without a USB subsystem List must fail cleanly with
	// ErrUnavailable (not panic); with one, it must not fail.
	found, err := List(context.Background(), nil)
	if err != nil && !errors.Is(err, ErrUnavailable) {
		t.Fatalf("List: %v", err)
	}
	t.Logf("List: %d printers, err %v", len(found), err)
	_, err = Open(context.Background(), Selector{VID: VendorEvolis, Serial: "nonexistent"}, Opts{})
	if !errors.Is(err, ErrUnavailable) && !errors.Is(err, printer.ErrNoDevice) {
		t.Fatalf("Open of a missing device: %v, want ErrUnavailable or ErrNoDevice", err)
	}
}
