package spool

import (
	"context"
	"fmt"
	"strings"
)

// AuditOverride: an operator released a job held by a check at intake
// (the photo gate …), overriding the check. The event has no serial (none
// exists yet); Reason holds the check's finding and the operator's reason.
const AuditOverride AuditKind = "override"

// Override releases a job held by a check at intake (Job.Checked): the
// operator overrides the check, giving a reason. The release is journaled
// with the check's finding and the reason, and sent to the audit log as
// AuditOverride (delivered at least once, as every audit event). A job
// held for any other reason is refused: Release it.
func (s *Scheduler) Override(ctx context.Context, ref, reason string) error {
	reason = strings.TrimSpace(reason)
	_, err := s.commitIf(ctx, ref, "override", func(j *Job) (Record, error) {
		if j.State != StateHeld || !j.Checked {
			return Record{}, fmt.Errorf("%w: job is %s (%s), not held by a check at intake", ErrState, j.State, j.Reason)
		}
		if reason == "" {
			return Record{}, fmt.Errorf("%w: overriding a check (%s) needs a reason", ErrState, j.Reason)
		}
		why := fmt.Sprintf("check overridden by operator: %s (was held: %s)", reason, j.Reason)
		return Record{Job: j.Num, State: StatePending, Reason: why, Attempt: -1,
			Audit: &PendingAudit{Kind: AuditOverride, Note: why}}, nil
	})
	if err == nil {
		s.poke()
	}
	return err
}
