// Package testwait waits, in tests, for something to happen rather than for
// the clock. The suite runs under the race detector on a busy two-core
// machine, where a step that takes 50 ms alone can take many seconds; a
// test that fails because the machine was slow is a flaky test. So a wait
// here has one generous limit (minutes, not seconds) that only ends a test
// that really hangs, and every wait logs how long it took, so a slow step
// shows in the log (go test -v) instead of failing. Only tests import it.
package testwait

import (
	"context"
	"os"
	"testing"
	"time"
)

// LimitEnv names the environment variable that overrides Limit, as a Go
// duration ("10m").
const LimitEnv = "CARDD_TEST_WAIT"

// DefaultLimit is how long a wait may last by default before its test fails.
const DefaultLimit = 5 * time.Minute

// Limit returns how long one wait may last: $CARDD_TEST_WAIT when it is a
// positive duration, else DefaultLimit.
func Limit() time.Duration {
	if v := os.Getenv(LimitEnv); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return DefaultLimit
}

// For polls cond until it holds and returns how long that took, logging it
// on tb. The first polls come quickly (1 ms), later ones at most every
// 50 ms. It fails tb (Fatalf, naming what) when cond still does not hold
// after Limit, or when tb's test context ends first.
func For(tb testing.TB, what string, cond func() bool) time.Duration {
	tb.Helper()
	return ForCtx(tb, tb.Context(), what, cond)
}

// ForCtx is For, ended early (as a failure) when ctx is done.
func ForCtx(tb testing.TB, ctx context.Context, what string, cond func() bool) time.Duration {
	tb.Helper()
	start := time.Now()
	limit := Limit()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	pause := time.Millisecond
	for !cond() {
		select {
		case <-timer.C:
			tb.Fatalf("%s: still not after %v (limit %s=%v)", what, time.Since(start).Round(time.Millisecond), LimitEnv, limit)
		case <-ctx.Done():
			tb.Fatalf("%s: given up after %v: %v", what, time.Since(start).Round(time.Millisecond), context.Cause(ctx))
		case <-time.After(pause):
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
	d := time.Since(start)
	tb.Logf("waited %v for %s", d.Round(time.Millisecond), what)
	return d
}

// Recv waits for a value from ch and returns it, logging how long it took;
// it fails tb after Limit.
func Recv[T any](tb testing.TB, what string, ch <-chan T) T {
	tb.Helper()
	start := time.Now()
	limit := Limit()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case v := <-ch:
		tb.Logf("waited %v for %s", time.Since(start).Round(time.Millisecond), what)
		return v
	case <-timer.C:
		tb.Fatalf("%s: nothing after %v (limit %s=%v)", what, time.Since(start).Round(time.Millisecond), LimitEnv, limit)
	case <-tb.Context().Done():
		tb.Fatalf("%s: given up after %v: test ended", what, time.Since(start).Round(time.Millisecond))
	}
	var zero T
	return zero
}

// Context returns a context for a whole test session that must not hang
// forever (a browser driven over the DevTools protocol): it ends after
// four times Limit or when the test ends. Steps inside it wait for events;
// this bound only ends a hung test.
func Context(tb testing.TB, parent context.Context) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(parent, 4*Limit())
	tb.Cleanup(cancel)
	return ctx
}
