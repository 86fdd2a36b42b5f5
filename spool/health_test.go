package spool

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHealthStall: when intake hangs (here a screener that blocks, as a
// FIFO read once did) while work waits, Health reports ErrStalled once
// the limit passes; it recovers when the loop turns again, and an idle
// scheduler is never unhealthy however long nothing happens.
func TestHealthStall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	const limit = time.Minute
	e.clock.Advance(time.Hour)
	if err := e.s.Health(limit); err != nil {
		t.Fatalf("idle scheduler unhealthy: %v", err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	e.composer.screenHook = func(req ScreenRequest) (Verdict, error) {
		close(entered)
		<-release
		return Verdict{}, nil
	}
	e.submit("slow-1", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.s.Run(ctx, RunOptions{Rescan: time.Hour, Poll: time.Hour, Purge: time.Hour, Composers: 1})
	}()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(func() {
		unblock()
		cancel()
		<-done
	})
	<-entered
	if err := e.s.Health(limit); err != nil {
		t.Fatalf("unhealthy before the limit passed: %v", err)
	}
	if err := e.s.Health(0); err != nil {
		t.Fatalf("Health(0) = %v, want the check off", err)
	}
	e.clock.Advance(2 * limit)
	err := e.s.Health(limit)
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "scheduler loop") || !strings.Contains(err.Error(), "1 claimed jobs wait") {
		t.Fatalf("Health = %v, want stalled naming the loop and the waiting entry", err)
	}
	unblock()
	start := time.Now()
	for e.s.Health(limit) != nil {
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("still unhealthy after the loop turned: %v", e.s.Health(limit))
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
	t.Logf("healthy again after %v", time.Since(start))
}

// TestHealthComposeStall: a card composing for longer than the limit
// makes the scheduler unhealthy even though its loops turn.
func TestHealthComposeStall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	entered := make(chan struct{})
	release := make(chan struct{})
	e.composer.hook = func(ComposeRequest) {
		close(entered)
		<-release
	}
	e.submit("slow-2", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.s.Run(ctx, RunOptions{Rescan: time.Hour, Poll: time.Hour, Purge: time.Hour, Composers: 1})
	}()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(func() {
		unblock()
		cancel()
		<-done
	})
	<-entered
	e.clock.Advance(3 * time.Minute)
	e.s.progress.beatLoop(e.clock.Now()) // the loop itself is fine
	err := e.s.Health(time.Minute)
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "composing for 3m0s") {
		t.Fatalf("Health = %v, want a stalled composition", err)
	}
}
