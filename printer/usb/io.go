//go:build cgo

package usb

import (
	"context"
	"fmt"
	"time"
)

// bulkWriter is the part of a gousb OUT endpoint writeChunks needs.
type bulkWriter interface {
	WriteContext(ctx context.Context, p []byte) (int, error)
}

// bulkReader is the part of a gousb IN endpoint readPacket needs.
type bulkReader interface {
	ReadContext(ctx context.Context, p []byte) (int, error)
}

// writeChunks writes p in transfers of at most chunk bytes, each with its
// own timeout, continuing after partial transfers. It returns the number of
// bytes the device accepted.
func writeChunks(ctx context.Context, w bulkWriter, p []byte, chunk int, timeout time.Duration) (int, error) {
	done := 0
	for done < len(p) {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		end := min(done+chunk, len(p))
		tctx, cancel := context.WithTimeout(ctx, timeout)
		n, err := w.WriteContext(tctx, p[done:end])
		cancel()
		done += n
		if err != nil {
			return done, transferErr(ctx, tctx, err)
		}
		if n == 0 {
			return done, fmt.Errorf("device accepted 0 of %d bytes", end-done)
		}
	}
	return done, nil
}

// maxRead caps one bulk IN transfer.
const maxRead = 64 << 10

// readPacket performs one bulk IN transfer into p. The transfer buffer is
// rounded up to a multiple of the endpoint's packet size so the device
// cannot overflow it; bytes beyond len(p) are returned in rest for the next
// Read. The transfer is bounded by timeout and ctx.
func readPacket(ctx context.Context, r bulkReader, p []byte, maxPacket int, timeout time.Duration) (n int, rest []byte, err error) {
	if maxPacket <= 0 {
		maxPacket = 512
	}
	size := (len(p) + maxPacket - 1) / maxPacket * maxPacket
	size = min(size, max(maxRead, maxPacket))
	buf := p
	if size != len(p) {
		buf = make([]byte, size)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	got, rerr := r.ReadContext(tctx, buf)
	if got > len(p) {
		rest = append([]byte(nil), buf[len(p):got]...)
		got = len(p)
	}
	if &buf[0] != &p[0] {
		copy(p, buf[:got])
	}
	if rerr != nil {
		return got, rest, transferErr(ctx, tctx, rerr)
	}
	return got, rest, nil
}
