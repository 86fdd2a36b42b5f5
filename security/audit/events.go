package audit

import (
	"context"

	"github.com/cardd/cardd/security"
)

// Issued records that serial was assigned to a job's card: call it after
// signing and before the first byte goes to the printer. qrText is the
// signed QR text; only its SHA-256 is recorded.
func (l *Log) Issued(ctx context.Context, serial, job, template, printer, qrText string) (Record, error) {
	return l.Append(ctx, Record{Event: EventIssued, Serial: serial, Job: job, Template: template, Printer: printer,
		PayloadHash: security.PayloadHash(qrText)})
}

// Printed records that the card with serial was printed for job (or that
// an operator confirmed it was).
func (l *Log) Printed(ctx context.Context, serial, job, template, printer string) (Record, error) {
	return l.Append(ctx, Record{Event: EventPrinted, Serial: serial, Job: job, Template: template, Printer: printer})
}

// OutcomeUnknown records that the card with serial may or may not have
// been printed (crash or device loss mid-print); the job is held for an
// operator.
func (l *Log) OutcomeUnknown(ctx context.Context, serial, job, printer, reason string) (Record, error) {
	return l.Append(ctx, Record{Event: EventOutcomeUnknown, Serial: serial, Job: job, Printer: printer, Reason: reason})
}

// Voided records that serial must no longer be accepted.
func (l *Log) Voided(ctx context.Context, serial, reason string) (Record, error) {
	return l.Append(ctx, Record{Event: EventVoided, Serial: serial, Reason: reason})
}

// Spoiled records that the card with serial was damaged and destroyed.
func (l *Log) Spoiled(ctx context.Context, serial, printer, reason string) (Record, error) {
	return l.Append(ctx, Record{Event: EventSpoiled, Serial: serial, Printer: printer, Reason: reason})
}

// Reprinted records that serial replaces old for job, with a reason; the
// old serial is denied from then on (DenyList).
func (l *Log) Reprinted(ctx context.Context, serial, old, job, reason string) (Record, error) {
	return l.Append(ctx, Record{Event: EventReprinted, Serial: serial, Replaces: old, Job: job, Reason: reason})
}

// Operator records an operator action, optionally about a serial.
func (l *Log) Operator(ctx context.Context, operator, action, serial, reason string) (Record, error) {
	return l.Append(ctx, Record{Event: EventOperator, Operator: operator, Action: action, Serial: serial, Reason: reason})
}
