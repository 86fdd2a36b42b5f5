package station

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
	"golang.org/x/mod/sumdb/note"
)

// AuditOrigin is the name of a station's audit key and so the origin line
// of its checkpoints: the issuer's host (or "cardd" for an issuer without
// one), the station id and "audit", such as
// "id.example.org/office-7/audit".
func AuditOrigin(cfg *config.Config) string {
	host := "cardd"
	if u, err := url.Parse(cfg.Security.Issuer); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	name := host + "/" + cfg.Station.ID + "/audit"
	// A note key name has no spaces or '+'.
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == '+' || r > '~' {
			return '-'
		}
		return r
	}, name)
}

// openAuditLog opens the station's audit log with its checkpoint key
// (security.audit_key, generated with its .pub on first start), signing a
// checkpoint every security.checkpoint_every records and after each
// batch-close record; each new checkpoint goes to onCheckpoint.
func openAuditLog(cfg *config.Config, now func() time.Time, log *slog.Logger, onCheckpoint func(*audit.Checkpoint)) (*audit.Log, error) {
	sec := &cfg.Security
	created, keys, err := ensureAuditKey(cfg)
	if err != nil {
		return nil, err
	}
	signer, vkey := keys.signer, keys.vkey
	if created {
		log.Warn("no audit key: generated one; keep its public key to check checkpoints elsewhere",
			"key", sec.AuditKey, "public", sec.AuditKey+".pub", "verifier", vkey)
	}
	al, err := audit.OpenWith(sec.AuditLog, audit.Options{Now: now, Logger: log.With("part", "audit"),
		Signer: signer, CheckpointEvery: sec.CheckpointEvery, OnCheckpoint: onCheckpoint, State: true})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return al, nil
}

// verifyAuditLog is the station's component that completes the audit
// log's verification in the background when Open took the log's first
// records from its open state file (audit.Log.VerifyOpened), and says
// whether the log is verified whole. The scheduler starts only then. A
// log that fails it stops the station as a log that fails the full verification
// at Open does (a ConfigError: "cardd run" exits with status 3), and, its
// state file removed, the next start verifies the whole log and refuses
// it.
func verifyAuditLog(ctx context.Context, al *audit.Log, log *slog.Logger) (verified bool, err error) {
	start := time.Now()
	err = al.VerifyOpened(ctx)
	switch {
	case err == nil:
		log.Debug("audit log verified", "took", time.Since(start))
		return true, nil
	case ctx.Err() != nil:
		return false, nil
	}
	log.Error("audit log: the verification after start failed; the station stops before printing", "err", err)
	return false, ConfigError{Err: fmt.Errorf("audit log: %w", err)}
}

// auditKey is a station's loaded audit checkpoint key.
type auditKey struct {
	signer note.Signer
	vkey   string // the verifier key, as written to KEY.pub
}

// ensureAuditKey loads the station's audit checkpoint key
// (security.audit_key), generating it and its .pub first when it does not
// exist, and says whether it did.
func ensureAuditKey(cfg *config.Config) (bool, auditKey, error) {
	sec := &cfg.Security
	if err := os.MkdirAll(filepath.Dir(sec.AuditKey), 0o700); err != nil {
		return false, auditKey{}, fmt.Errorf("audit key: %w", err)
	}
	signer, vkey, created, err := audit.EnsureKey(sec.AuditKey, AuditOrigin(cfg), rand.Reader)
	if err != nil {
		return false, auditKey{}, err
	}
	return created, auditKey{signer: signer, vkey: vkey}, nil
}

// checkpointHooks are the functions called with each new checkpoint of
// the station's audit log.
type checkpointHooks struct {
	mu  sync.Mutex
	fns []func(*audit.Checkpoint)
}

func (h *checkpointHooks) add(fn func(*audit.Checkpoint)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fns = append(h.fns, fn)
}

func (h *checkpointHooks) announce(cp *audit.Checkpoint) {
	h.mu.Lock()
	fns := h.fns
	h.mu.Unlock()
	for _, fn := range fns {
		fn(cp)
	}
}

// OnAuditCheckpoint makes fn be called with every checkpoint the
// station's audit log signs from now on (after each security.
// checkpoint_every records, each batch close, each
// security.checkpoint_interval with new records, and at shutdown). fn runs
// on the goroutine that appended or signed; it must not block for long.
// The latest checkpoint is AuditLog().LatestCheckpoint().
func (s *Station) OnAuditCheckpoint(fn func(*audit.Checkpoint)) {
	s.checkpoints.add(fn)
}

// CheckpointScan is how often the station looks for newly closed batches
// to record in the audit log (each gets a checkpoint).
const CheckpointScan = 5 * time.Second

// runCheckpoints records each batch close in the audit log (an operator
// record with action batch-close, after which the log signs a
// checkpoint), signs a checkpoint at least every interval while records
// were added, and one more when ctx ends.
func runCheckpoints(ctx context.Context, al *audit.Log, batches func() []spool.Batch, interval time.Duration, now func() time.Time, log *slog.Logger) error {
	scan := min(interval, CheckpointScan)
	t := time.NewTicker(scan)
	defer t.Stop()
	last := now()
	for {
		if err := recordBatchCloses(ctx, al, batches()); err != nil {
			log.Error("audit: batch close not recorded", "err", err)
		}
		if now().Sub(last) >= interval {
			if _, err := al.Checkpoint(ctx); err != nil {
				log.Error("audit: checkpoint not signed", "err", err)
			}
			last = now()
		}
		select {
		case <-ctx.Done():
			if _, err := al.Checkpoint(context.WithoutCancel(ctx)); err != nil {
				log.Error("audit: checkpoint at shutdown not signed", "err", err)
			}
			return nil
		case <-t.C:
		}
	}
}

// recordBatchCloses appends a batch-close record for each closed (or done)
// batch; AppendOnce keyed by the close time makes a repeat a no-op, also
// across restarts.
func recordBatchCloses(ctx context.Context, al *audit.Log, batches []spool.Batch) error {
	for _, b := range batches {
		if b.Closed.IsZero() {
			continue
		}
		_, _, err := al.AppendOnce(ctx, audit.Record{Event: audit.EventOperator, Operator: "station", Action: audit.ActionBatchClose,
			Job: "batch:" + b.ID, Reason: auditText("batch " + b.ID + " closed: " + b.Reason), At: b.Closed})
		if err != nil {
			return fmt.Errorf("batch %s: %w", b.ID, err)
		}
	}
	return nil
}
