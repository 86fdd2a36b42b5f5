package security

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// allocate opens the counter of CARD-01 in dir and hands out n serials.
func allocate(t *testing.T, dir string, n int) *Allocator {
	t.Helper()
	a, err := OpenAllocator(dir, "CARD", "01")
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := a.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// patchCounter overwrites the counter file of a at offset.
func patchCounter(t *testing.T, a *Allocator, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(a.path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestAllocatorCounterFormat: the counter file has its two slots, the
// later number in its own slot and the one before it in the other.
func TestAllocatorCounterFormat(t *testing.T) {
	dir := t.TempDir()
	a := allocate(t, dir, 5)
	a.Close()
	b, err := os.ReadFile(a.path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != counterSize {
		t.Fatalf("counter file is %d bytes, want %d", len(b), counterSize)
	}
	if n, err := parseSlot(b[slotOffset(5):], "CARD", "01"); err != nil || n != 5 {
		t.Errorf("slot of 5 holds %d, %v", n, err)
	}
	if n, err := parseSlot(b[slotOffset(4):], "CARD", "01"); err != nil || n != 4 {
		t.Errorf("slot of 4 holds %d, %v", n, err)
	}
	if !bytes.HasPrefix(b, []byte("cardd serial counter CARD-01 0000004 ")) {
		t.Errorf("slot 0 is %q", b[:48])
	}
}

// TestAllocatorTornSlot simulates a crash that tore the write of the
// latest number in every way a slot can come back: the reopened
// allocator continues after the number in the other slot, which is never
// below the last number handed out (the torn one was not handed out).
func TestAllocatorTornSlot(t *testing.T) {
	line := encodeSlot("CARD", "01", 6)
	for name, torn := range map[string][]byte{
		"zeros":        make([]byte, len(line)),
		"half written": append(append([]byte(nil), line[:len(line)/2]...), make([]byte, len(line)-len(line)/2)...),
		"bit flipped":  append([]byte{line[0] ^ 1}, line[1:]...),
		"digit":        bytes.Replace(line, []byte("0000006"), []byte("0000008"), 1),
		"no newline":   append(line[:len(line)-1:len(line)-1], 'x'),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			a := allocate(t, dir, 5)
			a.Close()
			// The crash hit while 6 was being written: 6 was never returned.
			patchCounter(t, a, slotOffset(6), torn)
			b, err := OpenAllocator(dir, "CARD", "01")
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.Last() != 5 {
				t.Fatalf("Last after a torn write of 6 = %d, want 5", b.Last())
			}
			s, err := b.Next(ctx)
			if err != nil || s.Sequence != 6 {
				t.Fatalf("Next = %v, %v; want 6", s, err)
			}
			b.Close()
			c := allocate(t, dir, 1)
			defer c.Close()
			if c.Last() != 7 {
				t.Fatalf("after rewriting the torn slot: Last = %d, want 7", c.Last())
			}
		})
	}
}

// TestAllocatorCounterUnreadable: a counter file neither slot of which
// holds a valid counter (or of a wrong size, or of another station) is
// refused, not guessed at.
func TestAllocatorCounterUnreadable(t *testing.T) {
	dir := t.TempDir()
	a := allocate(t, dir, 3)
	a.Close()
	good, err := os.ReadFile(a.path)
	if err != nil {
		t.Fatal(err)
	}
	bothTorn := bytes.Clone(good)
	bothTorn[0] ^= 1
	bothTorn[slotSize] ^= 1
	for name, b := range map[string][]byte{
		"both slots torn":  bothTorn,
		"short":            good[:slotSize],
		"long":             append(bytes.Clone(good), 0),
		"another station":  encodeCounter("CARD", "02", 9),
		"another issuer":   encodeCounter("CARE", "01", 9),
		"legacy garbage":   []byte("12x\n"),
		"legacy too large": []byte("10000000\n"),
		"empty":            nil,
	} {
		t.Run(name, func(t *testing.T) {
			if err := writeFileDurable(a.path, b); err != nil {
				t.Fatal(err)
			}
			if c, err := OpenAllocator(dir, "CARD", "01"); err == nil {
				c.Close()
				t.Fatalf("counter file accepted (Last %d)", c.Last())
			}
		})
	}
}

// TestAllocatorLegacyCounter: a counter of the older one-line format is
// converted, durably, and numbering continues after it.
func TestAllocatorLegacyCounter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "serial-CARD-01.counter")
	if err := os.WriteFile(path, []byte("41\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := OpenAllocator(dir, "CARD", "01")
	if err != nil {
		t.Fatal(err)
	}
	if a.Last() != 41 {
		t.Fatalf("Last = %d, want 41", a.Last())
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != counterSize {
		t.Fatalf("counter not converted: %v, %v", fi, err)
	}
	if s, err := a.Next(ctx); err != nil || s.Sequence != 42 {
		t.Fatalf("Next = %v, %v; want 42", s, err)
	}
	a.Close()
	b := allocate(t, dir, 0)
	defer b.Close()
	if b.Last() != 42 {
		t.Fatalf("reopened Last = %d, want 42", b.Last())
	}
}

// TestAllocatorExhausted: the last sequence number is handed out once,
// then ErrSequenceExhausted.
func TestAllocatorExhausted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "serial-CARD-01.counter")
	if err := os.WriteFile(path, encodeCounter("CARD", "01", MaxSequence-1), 0o600); err != nil {
		t.Fatal(err)
	}
	a := allocate(t, dir, 1)
	defer a.Close()
	if _, err := a.Next(context.Background()); err == nil {
		t.Fatal("Next after the last sequence number succeeded")
	}
}

// FuzzParseCounter: a counter file read back after a crash never makes
// the parser panic, and a number it accepts is one a slot holds exactly
// as the allocator writes it.
func FuzzParseCounter(f *testing.F) {
	f.Add(encodeCounter("CARD", "01", 7))
	two := encodeCounter("CARD", "01", 7)
	copy(two[slotOffset(8):], encodeSlot("CARD", "01", 8))
	f.Add(two)
	f.Add([]byte("41\n"))
	f.Add([]byte(""))
	f.Add(make([]byte, counterSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		last, current, err := parseCounter(b, "CARD", "01")
		if err != nil {
			return
		}
		if last > MaxSequence {
			t.Fatalf("accepted %d, beyond MaxSequence", last)
		}
		if !current {
			if len(b) > maxLegacyCounter {
				t.Fatalf("a %d-byte file taken for a one-line counter", len(b))
			}
			return
		}
		line := encodeSlot("CARD", "01", last)
		if !bytes.HasPrefix(b, line) && !bytes.HasPrefix(b[slotSize:], line) {
			t.Fatalf("accepted %d, which no slot holds", last)
		}
	})
}

// TestAllocatorKill9 kills a process allocating serials as fast as it can
// at several points (SIGKILL, nothing flushed or closed by it) and checks
// that the reopened counter continues after every serial the process
// reported handed out.
func TestAllocatorKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	var reported uint64
	for round, after := range []int{1, 2, 7, 30} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAllocatorKill9Child$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CARDD_ALLOC_CHILD_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for n := 0; n < after && sc.Scan(); {
			v, err := strconv.ParseUint(sc.Text(), 10, 32)
			if err != nil {
				continue // the test framework's own lines
			}
			if v <= reported {
				t.Fatalf("round %d: serial %d handed out again (last before: %d)", round, v, reported)
			}
			reported = v
			n++
		}
		cmd.Process.Kill()
		cmd.Wait()
		a := allocate(t, dir, 0)
		if uint64(a.Last()) < reported {
			t.Fatalf("round %d: counter at %d after a kill, but %d was handed out", round, a.Last(), reported)
		}
		reported = uint64(a.Last()) // a number written but not reported is skipped
		a.Close()
	}
}

// TestAllocatorKill9Child is TestAllocatorKill9's child: it hands out
// serials until killed, printing each once Next returned it.
func TestAllocatorKill9Child(t *testing.T) {
	dir := os.Getenv("CARDD_ALLOC_CHILD_DIR")
	if dir == "" {
		t.Skip("run by TestAllocatorKill9")
	}
	a, err := OpenAllocator(dir, "CARD", "01")
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(os.Stdout)
	for {
		s, err := a.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(w, s.Sequence)
		w.Flush()
	}
}
