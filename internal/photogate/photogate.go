// Package photogate is the station's photo quality gate: a spool.Screener
// that checks each job's portrait (package layout/portrait) at intake,
// before a serial exists for the job, and holds a job whose photo fails
// with the reason ("photo: no face found", "photo: eyes not level
// (14°)"). An operator releases such a job with a reason (spool's
// Override, audited). The check's results are kept beside the job, in its
// spool directory (ReportFile), for the dashboard and "cardd jobs show".
package photogate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// ReportFile is the name of the check's report in a job's directory (a
// dot file: the spool never takes it for a job file). It goes with the
// job's directory, and is purged with it.
const ReportFile = ".photo-check.json"

// Mode is what a failing photo does to its job.
type Mode string

// The gate's modes (config.GateHold, GateWarn, GateOff).
const (
	// Hold holds the job, before a serial is allocated.
	Hold Mode = "hold"
	// Warn logs the failure and lets the job print.
	Warn Mode = "warn"
	// Off checks nothing.
	Off Mode = "off"
)

// Options configure a Gate.
type Options struct {
	// Detector finds faces; required.
	Detector *portrait.Detector
	// Thresholds are the checks' limits.
	Thresholds portrait.Thresholds
	// Mode is hold, warn or off.
	Mode Mode
	// MaxPhotoBytes and MaxPhotoPixels bound the photo decoded (the
	// renderer's limits; 0 for layout's defaults).
	MaxPhotoBytes, MaxPhotoPixels int64
	// Observe, when not nil, hears of every photo checked, with the time
	// the decode and the check took (metrics).
	Observe func(rep *portrait.Report, took time.Duration)
	// Decode, when not nil, decodes the photo of the job with producer
	// id job, sum its SHA-256 (layout.Renderer.IntakePhoto: a large JPEG
	// at 1/2 of its size, kept for the composition of the job's card);
	// nil decodes it whole with layout.DecodePhoto and the limits above.
	Decode func(job string, photo []byte, sum [sha256.Size]byte, name string) (*layout.DecodedPhoto, error)
}

// Gate checks photos at intake. It is safe for concurrent use.
type Gate struct {
	o   Options
	log *slog.Logger
}

var _ spool.Screener = (*Gate)(nil)

// New returns a gate; log receives one line per photo that warns or fails.
func New(o Options, log *slog.Logger) (*Gate, error) {
	if o.Detector == nil {
		return nil, errors.New("photogate: no face detector")
	}
	switch o.Mode {
	case Hold, Warn, Off:
	default:
		return nil, fmt.Errorf("photogate: mode %q is not hold, warn or off", o.Mode)
	}
	if o.MaxPhotoBytes == 0 {
		o.MaxPhotoBytes = layout.DefaultMaxPhotoBytes
	}
	if o.MaxPhotoPixels == 0 {
		o.MaxPhotoPixels = layout.DefaultMaxPhotoPixels
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gate{o: o, log: log}, nil
}

// Screen checks the job's photo (a job without one passes). A photo that
// does not decode is refused; one that fails a check holds the job with
// the check's reason in Hold mode.
func (g *Gate) Screen(ctx context.Context, req spool.ScreenRequest) (spool.Verdict, error) {
	if g.o.Mode == Off || len(req.Photo) == 0 {
		return spool.Verdict{}, nil
	}
	start := time.Now()
	// The spool hashed the photo it read.
	sum := req.PhotoSum()
	dp, err := g.decode(req.Job.ID, req.Photo, sum, req.Job.Photo)
	if err != nil {
		return spool.Verdict{}, &jobfile.Error{File: req.Job.File, JobID: req.Job.ID, Field: "photo", Err: fmt.Errorf("%w: %w", spool.ErrBadJob, err)}
	}
	if err := ctx.Err(); err != nil {
		return spool.Verdict{}, err
	}
	rep := g.o.Detector.CheckReduced(dp.Image, dp.Factor, dp.Bounds, g.o.Thresholds)
	if g.o.Observe != nil {
		g.o.Observe(&rep, time.Since(start))
	}
	log := g.log.With("job", req.Num, "id", req.Job.ID, "photo", req.Job.Photo)
	if err := writeReport(filepath.Join(req.Dir, ReportFile), sum, &rep); err != nil {
		log.Warn("photo check report not kept", "err", err)
	}
	switch {
	case rep.Verdict == portrait.Fail && g.o.Mode == Hold:
		log.Warn("photo fails its checks; job held", "reason", rep.Reason())
		return spool.Verdict{Hold: rep.Reason()}, nil
	case rep.Verdict != portrait.Pass:
		log.Warn("photo check", "verdict", rep.Verdict.String(), "reason", rep.Reason())
	}
	return spool.Verdict{}, nil
}

// decode decodes a job's photo with Options.Decode, or whole.
func (g *Gate) decode(job string, photo []byte, sum [sha256.Size]byte, name string) (*layout.DecodedPhoto, error) {
	if g.o.Decode != nil {
		return g.o.Decode(job, photo, sum, name)
	}
	img, err := layout.DecodePhoto(photo, name, g.o.MaxPhotoBytes, g.o.MaxPhotoPixels)
	if err != nil {
		return nil, err
	}
	return &layout.DecodedPhoto{Image: img, Factor: 1, Bounds: img.Bounds()}, nil
}

// kept is the report as kept beside the job, with the SHA-256 of the
// photo bytes it is about.
type kept struct {
	PhotoSHA256 string          `json:"photo_sha256"`
	Report      portrait.Report `json:"report"`
}

// maxReport bounds a report file read back (the job directory comes from
// a producer: a planted file is read through the spool's safe opener).
const maxReport = 1 << 20

// writeReport writes rep on the photo whose SHA-256 is sum as JSON, into
// a file created for it (O_EXCL: whatever a producer put under the name,
// a FIFO or a forged report, is removed and the file created again).
//
// Written in place, without a temporary file and a rename (which cost
// as much as the rest of the admission's file work): a write cut short
// by a crash leaves a prefix of the JSON object, which does not parse,
// and a report that does not parse is no report (readKept): the
// composer then searches the photo for the face itself, as for a photo
// never checked, and a held job still has its reason in the journal. No
// fsync, as before: the report is a cache of the check, not a record.
func writeReport(path string, sum [sha256.Size]byte, rep *portrait.Report) error {
	b, err := json.Marshal(kept{PhotoSHA256: hex.EncodeToString(sum[:]), Report: *rep})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, fs.ErrExist) {
		// Only then: removing first at every report cost system calls
		// that find nothing.
		os.Remove(path)
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func readKept(dir string) (*kept, error) {
	path := filepath.Join(dir, ReportFile)
	b, err := jobfile.ReadFile(path, maxReport)
	if err != nil {
		return nil, err
	}
	var k kept
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &k, nil
}

// ReadReport reads the report of the check kept in a job's directory
// (through the spool's safe opener); an error wrapping jobfile.ErrMissing
// when the job's photo was not checked.
func ReadReport(dir string) (*portrait.Report, error) {
	k, err := readKept(dir)
	if err != nil {
		return nil, err
	}
	return &k.Report, nil
}

// KeptFace returns the face the check found in the photo whose SHA-256 is
// sum, kept in the job's directory, or nil when there is none for these
// photo bytes (not checked, no single face, or a report about other
// bytes). The caller computes sum on the photo bytes it read itself: the
// comparison is what ties the report to them.
func KeptFace(dir string, sum [sha256.Size]byte) *portrait.Face {
	k, err := readKept(dir)
	if err != nil || k.Report.Face == nil {
		return nil
	}
	if k.PhotoSHA256 != hex.EncodeToString(sum[:]) {
		return nil
	}
	return k.Report.Face
}
