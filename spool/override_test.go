package spool

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestOverrideByControlRequest: "cardd jobs release JOB --reason WHY" on a
// job held by an intake check overrides the check (journaled, audited);
// without a reason the release is refused. The job then prints.
func TestOverrideByControlRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnvConfig(t, PolicyRetryJob, func(c *Config) {
		c.Screeners = []Screener{ScreenerFunc(func(_ context.Context, req ScreenRequest) (Verdict, error) {
			return Verdict{Hold: "photo: eyes not level (14°)"}, nil
		})}
	})
	e.submit("P-1", nil)
	e.drain()
	e.wantState("P-1", StateHeld, "photo: eyes not level (14°)")
	serve := func(r Request) *Response {
		t.Helper()
		name, err := SendRequest(e.root, &r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.ServeControl(ctx); err != nil {
			t.Fatal(err)
		}
		resp, err := WaitResponse(ctx, e.root, name, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := serve(Request{Action: ActionRelease, Job: "P-1"}); resp.OK || !strings.Contains(resp.Error, "override it with a reason") {
		t.Errorf("release without a reason: %+v", resp)
	}
	if resp := serve(Request{Action: ActionRelease, Job: "P-1", Reason: "tilted head accepted by the supervisor", By: "alice"}); !resp.OK {
		t.Fatalf("override: %+v", resp)
	}
	if !e.audit.has(AuditOverride, "") {
		t.Error("override not audited")
	}
	e.drain()
	j := e.wantState("P-1", StateCompleted, "")
	if j.Serial == "" {
		t.Error("overridden job printed without a serial")
	}
	var found bool
	for _, r := range j.History {
		found = found || strings.Contains(r.Reason, "check overridden by operator: tilted head accepted by the supervisor (by alice) (was held: photo: eyes not level (14°))")
	}
	if !found {
		t.Errorf("the journal does not keep the override's reason: %+v", j.History)
	}
}
