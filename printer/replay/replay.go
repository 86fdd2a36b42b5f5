// Package replay records a printer conversation and plays it back, so that
// a driver can be tested against traffic captured from a real printer
// (after periph's conntest.Record and Playback).
//
// A Recorder wraps a live printer.Transport and notes every Write and Read.
// A Player is a printer.Transport that expects the host to write exactly
// the recorded bytes (in any chunking) and answers Reads with the recorded
// replies; its Close fails if any expected traffic was not consumed.
//
// # Script format
//
// A script is text, one exchange per line; blank lines and lines starting
// with '#' are comments:
//
//	> 1b 52 73 6e 0d          host writes these bytes (hex, spaces optional)
//	> "\x1bRsn\r"             the same, as a Go-quoted string
//	< "EMU0000001\r"          printer replies (hex or quoted)
//	> len=576072 sha256=9f…   host writes this many bytes with this SHA-256
//
// The hashed form keeps large panel downloads out of the file; a Recorder
// uses it for writes longer than its inline limit.
package replay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/cardd/cardd/printer"
)

// Dir is the direction of an exchange.
type Dir byte

// Directions.
const (
	Write Dir = '>' // host to printer
	Read  Dir = '<' // printer to host
)

// Entry is one recorded exchange.
type Entry struct {
	Dir Dir
	// Data is the bytes; nil for a hashed write.
	Data []byte
	// Len and Sum describe a hashed write (Data nil).
	Len int
	Sum [sha256.Size]byte
}

// size is the number of bytes the entry stands for.
func (e *Entry) size() int {
	if e.Data != nil {
		return len(e.Data)
	}
	return e.Len
}

// maxScriptLine bounds one line of a script.
const maxScriptLine = 16 << 20

// Parse reads a script (see the package doc).
func Parse(script []byte) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(script))
	sc.Buffer(make([]byte, 0, 64<<10), maxScriptLine)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		d := Dir(s[0])
		if d != Write && d != Read {
			return nil, fmt.Errorf("replay: line %d: want '>' or '<', got %q", line, s[0])
		}
		body := strings.TrimSpace(s[1:])
		e := Entry{Dir: d}
		switch {
		case strings.HasPrefix(body, "len="):
			if d != Write {
				return nil, fmt.Errorf("replay: line %d: only writes may be hashed", line)
			}
			var ls, hs string
			if _, err := fmt.Sscanf(body, "len=%s sha256=%s", &ls, &hs); err != nil {
				return nil, fmt.Errorf("replay: line %d: hashed write: %w", line, err)
			}
			n, err := strconv.Atoi(ls)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("replay: line %d: bad length %q", line, ls)
			}
			sum, err := hex.DecodeString(hs)
			if err != nil || len(sum) != sha256.Size {
				return nil, fmt.Errorf("replay: line %d: bad sha256 %q", line, hs)
			}
			e.Len = n
			copy(e.Sum[:], sum)
		case strings.HasPrefix(body, `"`):
			u, err := strconv.Unquote(body)
			if err != nil {
				return nil, fmt.Errorf("replay: line %d: bad quoted string: %w", line, err)
			}
			e.Data = []byte(u)
		default:
			b, err := hex.DecodeString(strings.ReplaceAll(body, " ", ""))
			if err != nil {
				return nil, fmt.Errorf("replay: line %d: bad hex: %w", line, err)
			}
			e.Data = b
		}
		if e.size() == 0 {
			return nil, fmt.Errorf("replay: line %d: empty exchange", line)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("replay: line %d: %w", line+1, err)
	}
	return out, nil
}

// Format writes entries as a script. Data that is printable text is
// quoted, anything else is hex.
func Format(entries []Entry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteByte(byte(e.Dir))
		b.WriteByte(' ')
		switch {
		case e.Data == nil:
			fmt.Fprintf(&b, "len=%d sha256=%x", e.Len, e.Sum)
		case quotable(e.Data):
			b.WriteString(strconv.Quote(string(e.Data)))
		default:
			fmt.Fprintf(&b, "% x", e.Data)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// quotable reports whether data reads well as a quoted string: valid
// UTF-8, at most half control bytes (ESC, CR …).
func quotable(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	ctl := 0
	for _, c := range data {
		if c < 0x20 || c == 0x7f {
			ctl++
		}
	}
	return ctl*2 <= len(data)
}

// Recorder is a printer.Transport that passes everything to an inner
// transport and records it.
type Recorder struct {
	t      printer.Transport
	inline int
	mu     sync.Mutex
	log    []Entry
}

var _ printer.Transport = (*Recorder)(nil)

// Record wraps t. Writes longer than inline bytes are recorded as length
// and SHA-256 (0 means 4096).
func Record(t printer.Transport, inline int) *Recorder {
	if inline <= 0 {
		inline = 4096
	}
	return &Recorder{t: t, inline: inline}
}

// Entries returns what was recorded so far.
func (r *Recorder) Entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Entry(nil), r.log...)
}

// Script returns the recording as a script.
func (r *Recorder) Script() []byte { return Format(r.Entries()) }

func (r *Recorder) add(d Dir, p []byte) {
	if len(p) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if d == Write && len(p) > r.inline {
		r.log = append(r.log, Entry{Dir: Write, Len: len(p), Sum: sha256.Sum256(p)})
		return
	}
	r.log = append(r.log, Entry{Dir: d, Data: bytes.Clone(p)})
}

// Write writes to the inner transport and records what it accepted.
func (r *Recorder) Write(ctx context.Context, p []byte) (int, error) {
	n, err := r.t.Write(ctx, p)
	r.add(Write, p[:n])
	return n, err
}

// Read reads from the inner transport and records what arrived.
func (r *Recorder) Read(ctx context.Context, p []byte) (int, error) {
	n, err := r.t.Read(ctx, p)
	r.add(Read, p[:n])
	return n, err
}

// Close closes the inner transport.
func (r *Recorder) Close() error { return r.t.Close() }

// String describes the inner transport.
func (r *Recorder) String() string { return "record:" + r.t.String() }

// Player is a printer.Transport that plays a script back.
type Player struct {
	mu      sync.Mutex
	entries []Entry
	i       int // current entry
	off     int // bytes of entries[i] consumed
	h       hash.Hash
	closed  bool
	name    string
}

var _ printer.Transport = (*Player)(nil)

// Playback returns a transport that expects entries in order.
func Playback(name string, entries []Entry) *Player {
	return &Player{entries: entries, name: name}
}

// ErrMismatch is wrapped by errors the Player returns when the host's
// traffic differs from the script.
var ErrMismatch = errors.New("replay: traffic differs from the recording")

// Write checks p against the expected writes.
func (p *Player) Write(ctx context.Context, b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, fmt.Errorf("replay %s: write after close: %w", p.name, printer.ErrNoDevice)
	}
	n := 0
	for n < len(b) {
		if p.i >= len(p.entries) {
			return n, fmt.Errorf("replay %s: %d unexpected bytes written after the end of the recording: %w", p.name, len(b)-n, ErrMismatch)
		}
		e := &p.entries[p.i]
		if e.Dir != Write {
			return n, fmt.Errorf("replay %s: entry %d: host wrote %d bytes where the printer should reply: %w", p.name, p.i+1, len(b)-n, ErrMismatch)
		}
		k := min(e.size()-p.off, len(b)-n)
		chunk := b[n : n+k]
		if e.Data != nil {
			want := e.Data[p.off : p.off+k]
			if !bytes.Equal(chunk, want) {
				at := 0
				for at < k && chunk[at] == want[at] {
					at++
				}
				return n, fmt.Errorf("replay %s: entry %d byte %d: wrote %#02x, want %#02x: %w", p.name, p.i+1, p.off+at, chunk[at], want[at], ErrMismatch)
			}
		} else {
			if p.h == nil {
				p.h = sha256.New()
			}
			p.h.Write(chunk)
		}
		p.off += k
		n += k
		if p.off == e.size() {
			if e.Data == nil {
				var sum [sha256.Size]byte
				p.h.Sum(sum[:0])
				p.h = nil
				if sum != e.Sum {
					return n, fmt.Errorf("replay %s: entry %d: %d bytes written with a different SHA-256: %w", p.name, p.i+1, e.Len, ErrMismatch)
				}
			}
			p.i++
			p.off = 0
		}
	}
	return n, nil
}

// Read returns the next recorded reply bytes. It fails at once when the
// script expects a write first (the host is waiting for a reply it did
// not ask for) or has ended.
func (p *Player) Read(ctx context.Context, b []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, fmt.Errorf("replay %s: read after close: %w", p.name, printer.ErrNoDevice)
	}
	if p.i >= len(p.entries) {
		return 0, fmt.Errorf("replay %s: read after the end of the recording: %w", p.name, printer.ErrTimeout)
	}
	e := &p.entries[p.i]
	if e.Dir != Read {
		return 0, fmt.Errorf("replay %s: entry %d: host reads where it should write: %w", p.name, p.i+1, ErrMismatch)
	}
	n := copy(b, e.Data[p.off:])
	p.off += n
	if p.off == len(e.Data) {
		p.i++
		p.off = 0
	}
	return n, nil
}

// Close fails when expected traffic was not consumed.
func (p *Player) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.i < len(p.entries) {
		return fmt.Errorf("replay %s: closed with %d of %d exchanges not consumed (next: entry %d, %c, %d bytes in): %w",
			p.name, len(p.entries)-p.i, len(p.entries), p.i+1, p.entries[p.i].Dir, p.off, ErrMismatch)
	}
	return nil
}

// String returns "replay:NAME".
func (p *Player) String() string { return "replay:" + p.name }
