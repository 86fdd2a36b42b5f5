package network

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// SpoolIntake is a central host's Intake: it submits each request to the
// host's spool directory as a permanent job (spool.SubmitAs: fsynced and
// renamed into incoming/, durable before Take returns) under a directory
// name derived from the job id, so that taking the same request again
// finds it instead of adding it twice.
type SpoolIntake struct {
	// Root is the spool directory.
	Root string
	// Spool is the host's open spool, to recognise a request admitted
	// already; may be nil (then only incoming/ is looked at, and the
	// spool's own duplicate check is the last guard).
	Spool *spool.Spool
	// DefaultTemplate is the template of requests that name no
	// permanent_template.
	DefaultTemplate string
	// Check, when set, screens the job before it enters the spool (the
	// station's own pre-serial checks: template exists, photo usable);
	// an error refuses the request for good.
	Check func(ctx context.Context, j *jobfile.Job, photo []byte) error

	// syncOnce sets up syncer, which group-commits the fsyncs of
	// incoming/ (one fsync covers the commits of concurrent takes).
	syncOnce sync.Once
	syncer   *dirSyncer
}

// StagingIntake is an Intake that takes a request in two steps, so that
// the taker writes the request while the hub confirms its claim: Stage
// writes it durably where the spool does not see it yet, and the
// returned Staged puts it into the spool (Commit) or drops it (Abort).
type StagingIntake interface {
	Intake
	// Stage prepares the request as job centralID. Its errors are those
	// of Take.
	Stage(ctx context.Context, centralID string, r *Request) (Staged, error)
}

// Staged is a request written by StagingIntake.Stage. Exactly one of
// Commit and Abort is called.
type Staged interface {
	// Commit makes the request durable in the spool, as Take does
	// (idempotent: a request there already is not an error).
	Commit(ctx context.Context) error
	// Abort drops the staged request.
	Abort()
}

// CentralJob is the job a central host prints for request r: the office's
// fields, photo and magnetic data under centralID, in permanent mode, with
// the permanent template. Its file in the spool is job.json.
func CentralJob(centralID string, r *Request, defaultTemplate string) *jobfile.Job {
	tpl := r.Job.PermanentTemplate
	if tpl == "" {
		tpl = defaultTemplate
	}
	j := &jobfile.Job{ID: centralID, Template: tpl, Mode: jobfile.ModePermanent, Fields: r.Job.Fields, Photo: r.Job.Photo, File: "job.json"}
	if r.Job.Magnetic != nil {
		m := *r.Job.Magnetic
		j.Magnetic = &m
	}
	return j
}

// Take implements Intake.
func (in *SpoolIntake) Take(ctx context.Context, centralID string, r *Request) error {
	st, err := in.Stage(ctx, centralID, r)
	if err != nil {
		return err
	}
	return st.Commit(ctx)
}

// Stage implements StagingIntake: it checks the request and writes its job
// directory (spool.Stage) under a hidden name in incoming/.
func (in *SpoolIntake) Stage(ctx context.Context, centralID string, r *Request) (Staged, error) {
	if in.Spool != nil {
		if j, err := in.Spool.Job(centralID); err == nil {
			switch j.State {
			case spool.StateAborted:
				return nil, &BadRequestError{Field: "job", Err: fmt.Errorf("the central spool refused job %s: %s", centralID, j.Reason)}
			case spool.StateCancelled:
				return nil, &BadRequestError{Field: "job", Err: fmt.Errorf("job %s was cancelled at the central facility: %s", centralID, j.Reason)}
			default:
				return takenBefore{}, nil
			}
		}
	}
	j := CentralJob(centralID, r, in.DefaultTemplate)
	if j.Template == "" {
		return nil, &BadRequestError{Field: "permanent_template", Err: errors.New("the request names no permanent template and the central host has no default")}
	}
	if err := j.Validate(); err != nil {
		var je *jobfile.Error
		if errors.As(err, &je) {
			return nil, &BadRequestError{Field: je.Field, Err: err}
		}
		return nil, &BadRequestError{Err: err}
	}
	if in.Check != nil {
		if err := in.Check(ctx, j, r.Photo); err != nil {
			var je *jobfile.Error
			field := ""
			if errors.As(err, &je) {
				field = je.Field
			}
			return nil, &BadRequestError{Field: field, Err: err}
		}
	}
	name := "net-" + JobToken(centralID)
	if _, err := os.Lstat(filepath.Join(in.Root, "incoming", name)); err == nil {
		// Written before and not yet claimed by the spool: durable
		// once incoming/ is (a take of it may still be committing).
		return &committed{in: in}, nil
	}
	// JSON: a job made by a program, written and read back for less than
	// TOML costs.
	st, err := spool.StageFormat(in.Root, jobfile.FormatJSON, j, r.Photo)
	if err != nil {
		return nil, err
	}
	return &spoolStaged{in: in, st: st, name: name}, nil
}

// dirSync returns the group committer of incoming/'s fsyncs.
func (in *SpoolIntake) dirSync() *dirSyncer {
	in.syncOnce.Do(func() { in.syncer = &dirSyncer{dir: filepath.Join(in.Root, "incoming")} })
	return in.syncer
}

// spoolStaged is a request staged in the spool's incoming/.
type spoolStaged struct {
	in   *SpoolIntake
	st   *spool.Staged
	name string
}

// Commit renames the job into incoming/ and waits for an fsync of
// incoming/ that began after the rename (shared with concurrent commits).
func (s *spoolStaged) Commit(context.Context) error {
	d := s.in.dirSync()
	if _, err := s.st.Commit(s.name); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another take of the same request committed it: durable
			// once incoming/ is, which that take may not have made sure
			// of yet.
			return (&committed{in: s.in}).Commit(context.Background())
		}
		return err
	}
	if err := d.sync(d.renamed()); err != nil {
		return fmt.Errorf("spool: submit job %s: %w", s.name, err)
	}
	return nil
}

func (s *spoolStaged) Abort() { s.st.Abort() }

// committed is a request found in incoming/ already.
type committed struct{ in *SpoolIntake }

// Commit fsyncs incoming/, which holds the request.
func (c *committed) Commit(context.Context) error {
	if err := spool.SyncIncoming(c.in.Root); err != nil {
		return fmt.Errorf("network: spool intake: %w", err)
	}
	return nil
}

func (c *committed) Abort() {}

// takenBefore is a request the spool has admitted already.
type takenBefore struct{}

func (takenBefore) Commit(context.Context) error { return nil }
func (takenBefore) Abort()                       {}
