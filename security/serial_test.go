package security

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestSerialFormatParse(t *testing.T) {
	tests := []struct {
		issuer, station string
		seq             uint32
		wantErr         bool
	}{
		{"CARD", "01", 1, false},
		{"ZZ99", "A7", MaxSequence, false},
		{"card", "01", 1, true},
		{"D", "7", 1, false},
		{"ABCDEFGH", "WXYZ", 1, false},
		{"", "01", 1, true},
		{"ABCDEFGHI", "01", 1, true},
		{"CARD", "ABCDE", 1, true},
		{"CARD", "0-", 1, true},
		{"CARD", "01", 0, true},
		{"CARD", "01", MaxSequence + 1, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%s-%d", tt.issuer, tt.station, tt.seq), func(t *testing.T) {
			s, err := NewSerial(tt.issuer, tt.station, tt.seq)
			if tt.wantErr {
				if err == nil || !errors.Is(err, ErrBadSerial) {
					t.Fatalf("NewSerial: err = %v, want ErrBadSerial", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			text := s.String()
			if len(text) > MaxSerialLen {
				t.Fatalf("%q: length %d", text, len(text))
			}
			got, err := ParseSerial(text)
			if err != nil {
				t.Fatalf("ParseSerial(%q): %v", text, err)
			}
			if got != s {
				t.Fatalf("round trip %+v → %q → %+v", s, text, got)
			}
		})
	}
}

func TestParseSerialRejects(t *testing.T) {
	good := mustSerial(t, "CARD", "01", 42).String()
	for _, in := range []string{"", good[:len(good)-1], good + "0", "CARD_01-0000042-" + good[len(good)-1:],
		"card-01-0000042-" + good[len(good)-1:], "CARD-01-00000A2-0", "CARD-01-0000000-" + string(mustCheck(t, "CARD-01-0000000")),
		"CAR-D01-0000042-" + good[len(good)-1:]} {
		if _, err := ParseSerial(in); !errors.Is(err, ErrBadSerial) {
			t.Errorf("ParseSerial(%q) = %v, want ErrBadSerial", in, err)
		}
	}
}

func mustSerial(t testing.TB, i, s string, n uint32) Serial {
	t.Helper()
	v, err := NewSerial(i, s, n)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustCheck(t testing.TB, body string) byte {
	t.Helper()
	c, err := CheckChar(body)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCheckCharCatchesErrors checks, exhaustively over a set of serials,
// that every single-character substitution (in any position, check character
// included, to any other allowed character) and every adjacent transposition
// of different characters makes the serial invalid.
func TestCheckCharCatchesErrors(t *testing.T) {
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	serials := []Serial{
		mustSerial(t, "CARD", "01", 1),
		mustSerial(t, "ZZ99", "A7", 1234567),
		mustSerial(t, "AB12", "Z0", 9876543),
		mustSerial(t, "0000", "00", 1000000),
		mustSerial(t, "D", "7", 31),
		mustSerial(t, "DEMO1234", "F07X", 7654321),
	}
	for seq := uint32(1); seq <= 37; seq++ { // every check character value
		serials = append(serials, mustSerial(t, "MX7Q", "4K", seq*271))
	}
	checks := 0
	for _, s := range serials {
		text := s.String()
		b := []byte(text)
		for i := range b {
			if b[i] == '-' {
				continue
			}
			orig := b[i]
			alphabet := alnum
			switch {
			case i == len(b)-1:
				alphabet = checkAlphabet
			case i >= len(b)-2-SequenceLen && i < len(b)-2:
				alphabet = "0123456789"
			}
			for j := 0; j < len(alphabet); j++ {
				if alphabet[j] == orig {
					continue
				}
				b[i] = alphabet[j]
				checks++
				if ValidSerial(string(b)) {
					t.Errorf("substitution %q → %q accepted", text, b)
				}
			}
			b[i] = orig
		}
		// Adjacent transpositions, hyphens included (a hyphen moved by
		// one place keeps every part's characters but breaks the check).
		for i := 0; i+1 < len(b); i++ {
			j := i + 1
			if b[i] == b[j] {
				continue
			}
			b[i], b[j] = b[j], b[i]
			checks++
			if ValidSerial(string(b)) {
				t.Errorf("transposition %q → %q accepted", text, b)
			}
			b[i], b[j] = b[j], b[i]
		}
	}
	if checks < 1000 {
		t.Fatalf("only %d variants checked", checks)
	}
}

func TestAllocatorSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := OpenAllocator(dir, "CARD", "01")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		s, err := a.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen[s.String()] = true
	}
	if _, err := OpenAllocator(dir, "CARD", "01"); err == nil {
		t.Fatal("second allocator on the same counter opened; want lock error")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Next(ctx); err == nil {
		t.Fatal("Next after Close succeeded")
	}
	b, err := OpenAllocator(dir, "CARD", "01")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Last() != 5 {
		t.Fatalf("reopened Last = %d, want 5", b.Last())
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				s, err := b.Next(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[s.String()] {
					t.Errorf("serial %s handed out twice", s)
				}
				seen[s.String()] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 45 {
		t.Fatalf("%d distinct serials, want 45", len(seen))
	}
	// A different station has its own counter.
	c, err := OpenAllocator(dir, "CARD", "02")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.Next(ctx)
	if err != nil || s.Sequence != 1 {
		t.Fatalf("station 02 first serial = %v, %v", s, err)
	}
}

func TestAllocatorCorruptCounter(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenAllocator(dir, "CARD", "01")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if err := writeFileDurable(a.path, []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenAllocator(dir, "CARD", "01"); err == nil {
		t.Fatal("corrupt counter accepted")
	}
}

func FuzzParseSerial(f *testing.F) {
	f.Add("CARD-01-0000001-" + string(checkAlphabet[0]))
	f.Add("D-7-0000031-X")
	f.Add(mustSerial(f, "ZZ99", "A7", 1234567).String())
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSerial(in)
		if err != nil {
			return
		}
		if s.String() != in {
			t.Fatalf("ParseSerial(%q) formats back as %q", in, s.String())
		}
	})
}

// TestSerialsValidate checks that every serial the tests build with
// CheckChar on the hyphenated body parses.
func TestSerialsValidate(t *testing.T) {
	for _, body := range []string{"CARD-01-0000042", "REVK-01-0000001", "EXMP-01-0000042"} {
		s := body + "-" + string(mustCheck(t, body))
		if !ValidSerial(s) {
			t.Errorf("%s does not validate", s)
		}
	}
}

// TestAllocatorCrashLeftovers simulates a crash in the middle of an
// allocation (a temporary file written but not renamed): the reopened
// allocator ignores it and continues after the last durable number, so no
// serial is handed out twice.
func TestAllocatorCrashLeftovers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := OpenAllocator(dir, "CARD", "01")
	if err != nil {
		t.Fatal(err)
	}
	last, err := a.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if err := os.WriteFile(filepath.Join(dir, ".serial-CARD-01.counter.tmp123"), []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := OpenAllocator(dir, "CARD", "01")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	next, err := b.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if next.Sequence != last.Sequence+1 {
		t.Fatalf("after a crash: %s, want the one after %s", next, last)
	}
}

func TestAllocatorStrings(t *testing.T) {
	a, err := OpenAllocator(t.TempDir(), "DEMO", "7")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s, err := a.Strings().Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !ValidSerial(s) || s[:len("DEMO-7-0000001-")] != "DEMO-7-0000001-" {
		t.Fatalf("serial %q", s)
	}
}
