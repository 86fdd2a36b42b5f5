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
	return in.stage(ctx, centralID, r, true)
}

// stage is Stage; with sync false the job directory is written without
// fsyncs (spool.StageUnsynced), and spool.SyncStaged must make it durable
// before it is committed.
func (in *SpoolIntake) stage(ctx context.Context, centralID string, r *Request, sync bool) (Staged, error) {
	j, st, err := in.screen(ctx, centralID, r)
	if err != nil || st != nil {
		return st, err
	}
	name := "net-" + JobToken(centralID)
	// JSON: a job made by a program, written and read back for less than
	// TOML costs.
	stageFn := spool.StageFormat
	if !sync {
		stageFn = spool.StageUnsynced
	}
	sst, err := stageFn(in.Root, jobfile.FormatJSON, j, r.Photo)
	if err != nil {
		return nil, err
	}
	return &spoolStaged{in: in, st: sst, name: name}, nil
}

// screen runs the checks a request passes before it is written anywhere
// (by Stage, or by an Inbox): whether the spool has the job already
// (aborted or cancelled there: a BadRequestError), the template, the job
// file's rules and Check. It returns the job to write, or a Staged that
// needs no writing: the spool admitted the job already (takenBefore) or
// its directory waits in incoming/ (committed).
func (in *SpoolIntake) screen(ctx context.Context, centralID string, r *Request) (*jobfile.Job, Staged, error) {
	if in.Spool != nil {
		if j, err := in.Spool.Job(centralID); err == nil {
			switch j.State {
			case spool.StateAborted:
				return nil, nil, &BadRequestError{Field: "job", Err: fmt.Errorf("the central spool refused job %s: %s", centralID, j.Reason)}
			case spool.StateCancelled:
				return nil, nil, &BadRequestError{Field: "job", Err: fmt.Errorf("job %s was cancelled at the central facility: %s", centralID, j.Reason)}
			default:
				return nil, takenBefore{}, nil
			}
		}
	}
	j := CentralJob(centralID, r, in.DefaultTemplate)
	if j.Template == "" {
		return nil, nil, &BadRequestError{Field: "permanent_template", Err: errors.New("the request names no permanent template and the central host has no default")}
	}
	if err := j.Validate(); err != nil {
		var je *jobfile.Error
		if errors.As(err, &je) {
			return nil, nil, &BadRequestError{Field: je.Field, Err: err}
		}
		return nil, nil, &BadRequestError{Err: err}
	}
	if in.Check != nil {
		if err := in.Check(ctx, j, r.Photo); err != nil {
			var je *jobfile.Error
			field := ""
			if errors.As(err, &je) {
				field = je.Field
			}
			return nil, nil, &BadRequestError{Field: field, Err: err}
		}
	}
	if _, err := os.Lstat(filepath.Join(in.Root, "incoming", "net-"+JobToken(centralID))); err == nil {
		// Written before and not yet claimed by the spool: durable
		// once incoming/ is (a take of it may still be committing).
		return nil, &committed{in: in}, nil
	}
	return j, nil, nil
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

// stageWorkers is how many job directories takeBatch writes at once.
const stageWorkers = 16

// takeBatch takes requests reqs as jobs ids into the spool as Take does
// (idempotent), writing up to stageWorkers job directories at once
// without fsyncs, making them all durable with one spool.SyncStaged, and
// committing them all under one fsync of incoming/. errs[i] is request
// i's outcome.
func (in *SpoolIntake) takeBatch(ctx context.Context, ids []string, reqs []*Request) (errs []error) {
	errs = make([]error, len(ids))
	staged := make([]Staged, len(ids))
	var wg sync.WaitGroup
	sem := make(chan struct{}, stageWorkers)
	for i := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			staged[i], errs[i] = in.stage(ctx, ids[i], reqs[i], false)
		}()
	}
	wg.Wait()
	// The batch's job directories, written without fsyncs, are made
	// durable together before any is committed (renamed into incoming/):
	// one flush of the file system instead of three fsyncs a job.
	var fresh []*spool.Staged
	for i, st := range staged {
		if s, ok := st.(*spoolStaged); ok && errs[i] == nil {
			fresh = append(fresh, s.st)
		}
	}
	if len(fresh) > 0 {
		if err := spool.SyncStaged(in.Root, fresh); err != nil {
			for i, st := range staged {
				if s, ok := st.(*spoolStaged); ok && errs[i] == nil {
					s.Abort()
					errs[i] = fmt.Errorf("network: spool intake of job %s: %w", ids[i], err)
				}
			}
		}
	}
	d := in.dirSync()
	var last uint64
	var waiting []int // committed here or found in incoming/: durable with incoming/
	for i, st := range staged {
		if errs[i] != nil {
			continue
		}
		switch s := st.(type) {
		case *spoolStaged:
			if _, err := s.st.Commit(s.name); err != nil && !errors.Is(err, fs.ErrExist) {
				errs[i] = err
				continue
			} else if err == nil {
				last = d.renamed()
			}
			waiting = append(waiting, i)
		case *committed:
			waiting = append(waiting, i)
		}
	}
	if len(waiting) == 0 {
		return errs
	}
	// One fsync of incoming/ that begins after the last rename covers
	// every rename of the batch and those found done already.
	var err error
	if last > 0 {
		err = d.sync(last)
	} else {
		err = spool.SyncIncoming(in.Root)
	}
	if err != nil {
		for _, i := range waiting {
			errs[i] = fmt.Errorf("network: spool intake of job %s: %w", ids[i], err)
		}
	}
	return errs
}
