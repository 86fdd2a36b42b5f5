package testwait

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// only the calling goroutine, so a test can watch a wait fail.
type fatalRecorder struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.msg = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *fatalRecorder) Logf(string, ...any) {}

// run calls f on r in its own goroutine and returns the Fatalf message, if
// any.
func (r *fatalRecorder) run(f func()) string {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msg
}

func TestForWaitsForTheCondition(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 5 {
			n.Add(1)
		}
	}()
	For(t, "five increments", func() bool { return n.Load() == 5 })
}

func TestForFailsAfterTheLimit(t *testing.T) {
	t.Setenv(LimitEnv, "30ms")
	r := &fatalRecorder{TB: t}
	start := time.Now()
	msg := r.run(func() { For(r, "the impossible", func() bool { return false }) })
	if !strings.Contains(msg, "the impossible") || !strings.Contains(msg, LimitEnv) {
		t.Fatalf("Fatalf message %q: want what was awaited and the limit's variable", msg)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("gave up after %v, before the 30ms limit", d)
	}
}

func TestLimit(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
	}{
		{"", DefaultLimit},
		{"90s", 90 * time.Second},
		{"nonsense", DefaultLimit},
		{"-1m", DefaultLimit},
	} {
		t.Setenv(LimitEnv, tc.env)
		if got := Limit(); got != tc.want {
			t.Errorf("%s=%q: Limit() = %v, want %v", LimitEnv, tc.env, got, tc.want)
		}
	}
}

func TestRecv(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if got := Recv(t, "a value", ch); got != 7 {
		t.Fatalf("Recv = %d, want 7", got)
	}
	t.Setenv(LimitEnv, "20ms")
	r := &fatalRecorder{TB: t}
	if msg := r.run(func() { Recv(r, "a value that never comes", make(chan int)) }); !strings.Contains(msg, "never comes") {
		t.Fatalf("Fatalf message %q", msg)
	}
}
