package spool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestControl(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, PolicyRetryJob)
	e.submit("K-1", nil)
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	send := func(r Request) string {
		t.Helper()
		name, err := SendRequest(e.root, &r)
		if err != nil {
			t.Fatal(err)
		}
		return name
	}
	hold := send(Request{Action: ActionHold, Job: "K-1", Reason: "photo check", By: "alice"})
	missing := send(Request{Action: ActionRelease, Job: "K-404"})
	// A hand-written garbage request gets an error response, not a crash.
	if err := os.WriteFile(filepath.Join(e.root, dirControl, "zz-garbage.req"), []byte("{nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Before the daemon serves, waiting times out and the request stays.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err := WaitResponse(short, e.root, hold, 5*time.Millisecond)
	cancel()
	if !errors.Is(err, ErrNoResponse) {
		t.Fatalf("WaitResponse before serving: %v", err)
	}
	n, err := e.s.ServeControl(ctx)
	if err != nil || n != 3 {
		t.Fatalf("ServeControl = %d, %v", n, err)
	}
	resp, err := WaitResponse(ctx, e.root, hold, time.Millisecond)
	if err != nil || !resp.OK || resp.State != StateHeld {
		t.Fatalf("hold response %+v, %v", resp, err)
	}
	e.wantState("K-1", StateHeld, "photo check (by alice)")
	resp, err = WaitResponse(ctx, e.root, missing, time.Millisecond)
	if err != nil || resp.OK || !strings.Contains(resp.Error, "no such job") {
		t.Fatalf("missing-job response %+v, %v", resp, err)
	}
	resp, err = WaitResponse(ctx, e.root, "zz-garbage", time.Millisecond)
	if err != nil || resp.OK || !strings.Contains(resp.Error, "malformed") {
		t.Fatalf("garbage response %+v, %v", resp, err)
	}
	rel := send(Request{Action: ActionRelease, Job: "K-1"})
	if _, err := e.s.ServeControl(ctx); err != nil {
		t.Fatal(err)
	}
	if resp, err := WaitResponse(ctx, e.root, rel, time.Millisecond); err != nil || !resp.OK || resp.State != StatePending {
		t.Fatalf("release response %+v, %v", resp, err)
	}
	ents, _ := os.ReadDir(filepath.Join(e.root, dirControl))
	if len(ents) != 0 {
		t.Errorf("control/ not cleaned up: %v", ents)
	}
}

func TestRequestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    Request
		want string // "" valid
	}{
		{Request{Action: ActionHold, Job: "J-1"}, ""},
		{Request{Action: ActionReprint, Job: "J-1", NewID: "J-1-r", Reason: "lost"}, ""},
		{Request{Action: "format-disk", Job: "J-1"}, "unknown action"},
		{Request{Action: ActionHold, Job: "../x"}, "job"},
		{Request{Action: ActionVoid, Job: "J-1"}, "needs a reason"},
		{Request{Action: ActionCancel, Job: "J-1", Reason: "a\nb"}, "reason"},
		{Request{Action: ActionReprint, Job: "J-1", Reason: "x"}, "new_id"},
		{Request{Action: ActionHold, Job: "J-1", NewID: "x"}, "reprint only"},
	}
	for _, tc := range tests {
		err := tc.r.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.r, err, tc.want)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"action":"hold","job":"J-1","reason":"x","by":"alice"}`))
	f.Add([]byte(`{"action":"reprint","job":"J-1","new_id":"J-2","reason":"lost"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("parsed request fails Validate: %v", err)
		}
	})
}
