package network

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardd/cardd/spool/jobfile"
)

func testRequest(id string, photo int) *Request {
	p := bytes.Repeat([]byte{0xff, 0xd8, byte(len(id))}, photo/3+1)
	return &Request{Office: "office-a", Sent: time.Unix(1700000000, 0),
		Job: &jobfile.Job{ID: id, Template: "permanent", Permanent: true, Fields: map[string]string{"name": "Ada"}, Photo: "photo.jpg"}, Photo: p}
}

func testRecord(t testing.TB, id string, photo int) []byte {
	tok := JobToken(id)
	rec, err := encodeRequest(testRequest(id, photo), recordHeader+len(tok))
	if err != nil {
		t.Fatal(err)
	}
	putRecordHeader(rec, tok)
	return rec
}

// checkScan checks what scanSegment says of b against b itself.
func checkScan(t *testing.T, b []byte) ([]segRecord, []span, int) {
	recs, damaged, torn := scanSegment(b)
	// Records and damaged stretches tile b up to the torn tail, in order.
	type piece struct{ off, end int64 }
	var pieces []piece
	for _, r := range recs {
		start := r.off - int64(recordHeader+len(r.tok))
		if start < 0 || r.off+int64(r.n) > int64(len(b)) || r.n < 0 {
			t.Fatalf("record %+v outside %d bytes", r, len(b))
		}
		if got, end, ok := parseRecord(b, int(start)); !ok || got != r || int64(end) != r.off+int64(r.n) {
			t.Fatalf("record %+v does not parse again", r)
		}
		pieces = append(pieces, piece{start, r.off + int64(r.n)})
	}
	for _, d := range damaged {
		if d.n <= 0 {
			t.Fatalf("empty damaged stretch %+v", d)
		}
		pieces = append(pieces, piece{d.off, d.off + int64(d.n)})
	}
	slices.SortFunc(pieces, func(a, b piece) int { return int(a.off - b.off) })
	var at int64
	for _, p := range pieces {
		if p.off != at {
			t.Fatalf("gap or overlap at %d: %+v", at, pieces)
		}
		at = p.end
	}
	if at+int64(torn) != int64(len(b)) {
		t.Fatalf("records and damage end at %d, torn %d, of %d bytes", at, torn, len(b))
	}
	return recs, damaged, torn
}

func TestScanSegment(t *testing.T) {
	var seg []byte
	var ends []int
	for i := range 3 {
		seg = append(seg, testRecord(t, fmt.Sprintf("J.%d", i), 100+i)...)
		ends = append(ends, len(seg))
	}
	// Cut anywhere (a crash in the middle of a write): the whole records
	// before the cut, the rest a torn tail, no damage.
	for cut := 0; cut <= len(seg); cut++ {
		recs, damaged, torn := checkScan(t, seg[:cut])
		want := 0
		for _, e := range ends {
			if e <= cut {
				want++
			}
		}
		if len(recs) != want || len(damaged) != 0 {
			t.Fatalf("cut at %d: %d records, %d damaged, torn %d; want %d records", cut, len(recs), len(damaged), torn, want)
		}
		for i, r := range recs {
			if r.tok != JobToken(fmt.Sprintf("J.%d", i)) {
				t.Fatalf("cut at %d: record %d is %q", cut, i, r.tok)
			}
			if _, err := DecodeRequest(RequestSubject("office-a", fmt.Sprintf("J.%d", i)), seg[r.off:r.off+int64(r.n)]); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A flipped byte in the middle record: that record is damage, the
	// others stand.
	bad := slices.Clone(seg)
	bad[ends[0]+200] ^= 1
	recs, damaged, torn := checkScan(t, bad)
	if len(recs) != 2 || len(damaged) != 1 || torn != 0 || damaged[0].off != int64(ends[0]) || damaged[0].n != ends[1]-ends[0] {
		t.Fatalf("flipped byte: %d records, damaged %+v, torn %d", len(recs), damaged, torn)
	}
	// Zeros after the records (a file extended by a crash): torn.
	if recs, damaged, torn := checkScan(t, append(slices.Clone(seg), make([]byte, 4096)...)); len(recs) != 3 || len(damaged) != 0 || torn != 4096 {
		t.Fatalf("zero tail: %d records, damaged %+v, torn %d", len(recs), damaged, torn)
	}
}

// FuzzScanSegment: an outbox segment read back after a crash is outside
// input; whatever it holds, scanSegment returns only intact records and
// accounts for every byte.
func FuzzScanSegment(f *testing.F) {
	a, b := testRecord(f, "A1", 10), testRecord(f, "B.2", 0)
	f.Add([]byte{})
	f.Add(a)
	f.Add(append(slices.Clone(a), b...))
	f.Add(append(slices.Clone(a), b[:20]...))
	f.Add(append(append([]byte("junk"), a...), []byte(recordMagic)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScan(t, data)
	})
}

// The outbox's kill -9 test: a child process (this test binary again)
// enqueues requests from several goroutines and marks some of them sent,
// printing each id once the call returned; it is killed with SIGKILL at a
// random moment, restarted on the same directory, and so on. Whatever the
// moment: every request whose Enqueue returned is pending or sent, every
// one marked sent is sent, nothing is pending twice, and the pending are
// in the order they were queued (per goroutine).

const outboxCrashEnv = "CARDD_OUTBOX_CRASH_CHILD"

func TestOutboxCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	dir := t.TempDir()
	queued := map[string]bool{}
	sent := map[string]bool{}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOutboxCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), outboxCrashEnv+"="+dir, "CARDD_OUTBOX_CRASH_ROUND="+strconv.Itoa(round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		kill := 20 + rng.IntN(300)
		sc := bufio.NewScanner(out)
		lines := 0
		for sc.Scan() {
			kind, id, _ := strings.Cut(sc.Text(), " ")
			switch kind {
			case "queued":
				queued[id] = true
			case "sent":
				sent[id] = true
			}
			if lines++; lines == kill {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != -1 {
			t.Fatalf("round %d: the child ended by itself: %v", round, err)
		}
		t.Logf("round %d: killed after %d lines", round, lines)
		ob, err := OpenOutbox(dir, "office-a", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		pending := ob.Pending()
		seen := map[string]bool{}
		last := map[string]int{}
		for _, id := range pending {
			if seen[id] {
				t.Fatalf("round %d: %s pending twice", round, id)
			}
			seen[id] = true
			if ob.Sent(id) {
				t.Fatalf("round %d: %s pending and sent", round, id)
			}
			// ids are R<round>-G<goroutine>-<n>: in order per goroutine.
			i := strings.LastIndexByte(id, '-')
			n, _ := strconv.Atoi(id[i+1:])
			if p, ok := last[id[:i]]; ok && n < p {
				t.Fatalf("round %d: %s pending after %s-%d", round, id, id[:i], p)
			}
			last[id[:i]] = n
		}
		for id := range queued {
			if !seen[id] && !ob.Sent(id) {
				t.Fatalf("round %d: %s was queued and is lost", round, id)
			}
		}
		for id := range sent {
			if !ob.Sent(id) || seen[id] {
				t.Fatalf("round %d: %s was sent and is not (pending %v)", round, id, seen[id])
			}
		}
		ob.Close()
	}
}

// TestOutboxCrashChild is the child of TestOutboxCrash.
func TestOutboxCrashChild(t *testing.T) {
	dir := os.Getenv(outboxCrashEnv)
	if dir == "" {
		t.Skip("run by TestOutboxCrash")
	}
	round := os.Getenv("CARDD_OUTBOX_CRASH_ROUND")
	ob, err := OpenOutbox(dir, "office-a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ob.segMax = 8 << 10 // many segments
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	say := func(kind, id string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("%s %s\n", kind, id)
	}
	// What the last round left is sent now and then, as a forwarder does.
	go func() {
		for {
			es := ob.take(3)
			if len(es) == 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			if err := ob.done(es); err != nil {
				fail(err)
			}
			for _, e := range es {
				id, _ := JobIDOfToken(e.tok)
				say("sent", id)
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				id := fmt.Sprintf("R%s-G%d-%d", round, g, n)
				if _, err := ob.Enqueue(testRequest(id, 500+n%7*300)); err != nil {
					fail(err)
				}
				say("queued", id)
				// A repeat is not queued again.
				if queued, err := ob.Enqueue(testRequest(id, 10)); err != nil || queued {
					fail(fmt.Errorf("repeat of %s: queued %v, %v", id, queued, err))
				}
			}
		}()
	}
	wg.Wait()
}
