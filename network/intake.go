package network

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

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
}

// CentralJob is the job a central host prints for request r: the office's
// fields, photo and magnetic data under centralID, in permanent mode, with
// the permanent template.
func CentralJob(centralID string, r *Request, defaultTemplate string) *jobfile.Job {
	tpl := r.Job.PermanentTemplate
	if tpl == "" {
		tpl = defaultTemplate
	}
	j := &jobfile.Job{ID: centralID, Template: tpl, Mode: jobfile.ModePermanent, Fields: r.Job.Fields, Photo: r.Job.Photo, File: "job.toml"}
	if r.Job.Magnetic != nil {
		m := *r.Job.Magnetic
		j.Magnetic = &m
	}
	return j
}

// Take implements Intake.
func (in *SpoolIntake) Take(ctx context.Context, centralID string, r *Request) error {
	if in.Spool != nil {
		if j, err := in.Spool.Job(centralID); err == nil {
			switch j.State {
			case spool.StateAborted:
				return &BadRequestError{Field: "job", Err: fmt.Errorf("the central spool refused job %s: %s", centralID, j.Reason)}
			case spool.StateCancelled:
				return &BadRequestError{Field: "job", Err: fmt.Errorf("job %s was cancelled at the central facility: %s", centralID, j.Reason)}
			default:
				return nil // taken before
			}
		}
	}
	j := CentralJob(centralID, r, in.DefaultTemplate)
	if j.Template == "" {
		return &BadRequestError{Field: "permanent_template", Err: errors.New("the request names no permanent template and the central host has no default")}
	}
	if err := j.Validate(); err != nil {
		var je *jobfile.Error
		if errors.As(err, &je) {
			return &BadRequestError{Field: je.Field, Err: err}
		}
		return &BadRequestError{Err: err}
	}
	if in.Check != nil {
		if err := in.Check(ctx, j, r.Photo); err != nil {
			var je *jobfile.Error
			field := ""
			if errors.As(err, &je) {
				field = je.Field
			}
			return &BadRequestError{Field: field, Err: err}
		}
	}
	err := spool.SubmitAs(in.Root, "net-"+JobToken(centralID), j, r.Photo)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}
