package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/catalog"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// fieldFlags collects repeated --field key=value flags.
type fieldFlags map[string]string

func (f fieldFlags) String() string { return "" }

func (f fieldFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want key=value, got %q", v)
	}
	f[k] = val
	return nil
}

// cmdSubmit is "cardd submit": commit jobs to the spool atomically.
func cmdSubmit(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "submit", "[--config FILE | --work DIR | --spool DIR] (--job FILE | --id ID --template NAME [--field K=V]… | --csv FILE --photos DIR | --sample NAME [--id ID]) [--photo FILE]",
		"Commits one job (from a job file, or from flags) or many (from a CSV file) to the spool's\n"+
			"incoming/ directory the way every producer should: a complete job directory renamed into\n"+
			"place. The daemon need not run. CSV: a header row naming the columns id, template, photo\n"+
			"(a file in --photos), optional mode, and any other column as a holder field.\n"+
			"--sample NAME submits the shipped sample job of template NAME (temporary, permanent) with\n"+
			"its synthetic portrait; --id gives it another id (a job id is submitted once).")
	loc := addSpoolFlags(fs)
	jobPath := fs.String("job", "", "job file (TOML or JSON) to submit; its photo is read from beside it")
	photoPath := fs.String("photo", "", "photo file (overrides the job file's photo)")
	id := fs.String("id", "", "producer job id (with --template)")
	template := fs.String("template", "", "template name")
	mode := fs.String("mode", "", "temporary or permanent (default: the station's)")
	reprintOf := fs.String("reprint-of", "", "id of the job this one reprints (needs --reason)")
	reason := fs.String("reason", "", "why the card is reprinted")
	permanent := fs.Bool("permanent", false, "field office of a network: also request a permanent card from the central facility")
	permTemplate := fs.String("permanent-template", "", "template of the permanent card (with --permanent; default: the central facility's)")
	var tracks [3]*string
	for i := range tracks {
		tracks[i] = fs.String(fmt.Sprintf("track%d", i+1), "", fmt.Sprintf("magnetic track %d data (ISO 7811, without sentinels)", i+1))
	}
	fields := fieldFlags{}
	fs.Var(fields, "field", "holder field key=value (repeatable)")
	csvPath := fs.String("csv", "", "CSV file of jobs, one a row")
	photos := fs.String("photos", "", "directory of the photos the CSV names")
	sample := fs.String("sample", "", "submit the shipped sample job of this template (temporary, permanent) with its portrait")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) > 0 {
		return usageError{"unexpected arguments: " + strings.Join(args, " ")}
	}
	root, _, err := loc.resolve()
	if err != nil {
		return err
	}
	if fi, err := os.Stat(filepath.Join(root, "incoming")); err != nil || !fi.IsDir() {
		return configError{Err: fmt.Errorf("spool %s has no incoming/ directory; start the daemon once to create the spool", root)}
	}
	switch {
	case *csvPath != "":
		if *jobPath != "" || *id != "" || *photos == "" {
			return usageError{"--csv needs --photos and excludes --job and --id"}
		}
		return submitCSV(ctx, e, root, *csvPath, *photos, loc.checkTemplate)
	case *sample != "" && *jobPath != "":
		return usageError{"give --sample or --job, not both"}
	case *sample == "" && *jobPath != "" && *id != "":
		return usageError{"give --job or --id, not both"}
	case *sample == "" && *jobPath == "" && *id == "":
		return usageError{"give --job FILE, --id ID --template NAME, --csv FILE or --sample NAME"}
	}
	var j *jobfile.Job
	var photo []byte
	switch {
	case *sample != "":
		if j, photo, err = sampleJob(*sample); err != nil {
			return err
		}
		if *id != "" {
			j.ID = *id
		}
	case *jobPath != "":
		if j, err = jobfile.Load(*jobPath); err != nil {
			return err
		}
		if *photoPath == "" && j.Photo != "" {
			dir := filepath.Dir(*jobPath)
			if photo, err = j.ReadPhoto(dir, jobfile.DefaultMaxPhotoBytes); err != nil {
				if errors.Is(err, jobfile.ErrMissing) {
					return fmt.Errorf("job %s (%s) names the photo %s, which is not in %s: put it there or give one with --photo FILE", j.ID, *jobPath, j.Photo, dir)
				}
				return err
			}
		}
	default:
		j = &jobfile.Job{ID: *id, Template: *template, Mode: *mode, Fields: fields, ReprintOf: *reprintOf, ReprintReason: *reason, File: "flags"}
		if len(j.Fields) == 0 {
			j.Fields = nil
		}
		if *tracks[0]+*tracks[1]+*tracks[2] != "" {
			j.Magnetic = &jobfile.Magnetic{Track1: *tracks[0], Track2: *tracks[1], Track3: *tracks[2]}
		}
	}
	if *photoPath != "" {
		if photo, err = readPhotoFile(*photoPath); err != nil {
			return err
		}
		j.Photo = "photo" + strings.ToLower(filepath.Ext(*photoPath))
	}
	if *permanent {
		j.Permanent = true
	}
	if *permTemplate != "" {
		if !j.Permanent {
			return usageError{"--permanent-template needs --permanent"}
		}
		j.PermanentTemplate = *permTemplate
	}
	if err := loc.checkTemplate(j, photo); err != nil {
		return err
	}
	name, err := spool.Submit(root, j, photo)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "submitted job %s as %s\n", j.ID, filepath.Join(root, "incoming", name))
	return nil
}

// readPhotoFile reads a photo named on the command line, with the size
// limit the daemon applies.
func readPhotoFile(path string) ([]byte, error) {
	b, err := jobfile.ReadFile(path, jobfile.DefaultMaxPhotoBytes)
	if errors.Is(err, jobfile.ErrMissing) {
		return nil, fmt.Errorf("photo %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("photo %s: %w", path, err)
	}
	return b, nil
}

// sampleJob returns the shipped sample job of template name and its
// synthetic portrait.
func sampleJob(name string) (*jobfile.Job, []byte, error) {
	jobs, err := samples.Jobs()
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, sj := range jobs {
		if sj.Name != name {
			names = append(names, sj.Name)
			continue
		}
		j, err := jobfile.Parse("samples/jobs/"+sj.Name+".toml", sj.File)
		if err != nil {
			return nil, nil, fmt.Errorf("sample %s: %w", name, err)
		}
		return j, sj.Data.Photo, nil
	}
	return nil, nil, usageError{fmt.Sprintf("--sample %q: no such sample (have %s)", name, strings.Join(names, ", "))}
}

// submitCSV submits one job per CSV row, with a progress bar on a terminal.
func submitCSV(ctx context.Context, e *env, root, path, photos string, check func(*jobfile.Job, []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return usageError{err.Error()}
	}
	defer f.Close()
	r := csv.NewReader(io.LimitReader(f, 64<<20))
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("csv %s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"id", "template"} {
		if _, ok := col[need]; !ok {
			return fmt.Errorf("csv %s: no %q column", path, need)
		}
	}
	rows, err := r.ReadAll()
	if err != nil {
		return fmt.Errorf("csv %s: %w", path, err)
	}
	var bar *progressbar.ProgressBar
	if isTerminal(e.stderr) {
		bar = progressbar.NewOptions(len(rows), progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("submitting"), progressbar.OptionShowCount())
	}
	failed := 0
	for n, row := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		line := n + 2
		if err := submitRow(root, photos, header, col, row, check); err != nil {
			failed++
			fmt.Fprintf(e.stderr, "%s:%d: %v\n", path, line, err)
		}
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(e.stderr)
	}
	fmt.Fprintf(e.stdout, "submitted %d of %d jobs from %s\n", len(rows)-failed, len(rows), path)
	if failed > 0 {
		return errSilentFailure
	}
	return nil
}

func submitRow(root, photos string, header []string, col map[string]int, row []string, check func(*jobfile.Job, []byte) error) error {
	get := func(k string) string {
		if i, ok := col[k]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	j := &jobfile.Job{ID: get("id"), Template: get("template"), Mode: get("mode"), File: "csv row"}
	for i, h := range header {
		switch h = strings.TrimSpace(h); h {
		case "id", "template", "photo", "mode":
			continue
		default:
			if i < len(row) && row[i] != "" {
				if j.Fields == nil {
					j.Fields = map[string]string{}
				}
				j.Fields[h] = row[i]
			}
		}
	}
	var photo []byte
	if p := get("photo"); p != "" {
		if err := jobfile.ValidPhotoName(p); err != nil {
			return fmt.Errorf("photo: %w", err)
		}
		pj := &jobfile.Job{ID: j.ID, Photo: p, File: "csv row"}
		var err error
		if photo, err = pj.ReadPhoto(photos, jobfile.DefaultMaxPhotoBytes); err != nil {
			return err
		}
		j.Photo = p
	}
	if err := check(j, photo); err != nil {
		return err
	}
	_, err := spool.Submit(root, j, photo)
	return err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// spoolFlags locate the spool: --spool wins, else the station's (--config
// FILE or --work DIR, see stationFlags).
type spoolFlags struct {
	station        *stationFlags
	spool, journal *string
}

func addSpoolFlags(fs *flag.FlagSet) *spoolFlags {
	return &spoolFlags{
		station: addStationFlags(fs),
		spool:   fs.String("spool", "", "spool `DIR` (default: the station's paths.spool)"),
		journal: fs.String("journal", "", "journal `FILE` (default: the station's paths.journal, or SPOOL/journal with --spool)"),
	}
}

// resolve returns the spool directory and its journal file. A spool
// directory that does not exist is "no station at …", naming where the
// flags pointed.
func (l *spoolFlags) resolve() (root, journal string, err error) {
	if *l.spool != "" {
		if _, err := os.Stat(*l.spool); errors.Is(err, os.ErrNotExist) {
			return "", "", configError{Err: fmt.Errorf("no station at %s: the spool directory (--spool) does not exist", *l.spool)}
		}
		return *l.spool, *l.journal, nil
	}
	cfg, err := l.station.load()
	if err != nil {
		return "", "", err
	}
	if cfg.Paths.Spool == "" {
		return "", "", configError{Err: errors.New("the configuration names no spool directory (paths.spool)")}
	}
	if _, err := os.Stat(cfg.Paths.Spool); errors.Is(err, os.ErrNotExist) {
		return "", "", l.station.noStation(cfg.Paths.Spool)
	}
	journal = *l.journal
	if journal == "" {
		journal = cfg.Paths.Journal
	}
	return cfg.Paths.Spool, journal, nil
}

// checkTemplate refuses, before it reaches the spool, a job whose
// template the station does not have or that shows a photo the job lacks
// (the daemon would refuse it at intake). It checks only when the flags
// name the station (not a bare --spool, whose templates are unknown); a
// template that cannot be read is left for the daemon to report.
func (l *spoolFlags) checkTemplate(j *jobfile.Job, photo []byte) error {
	if *l.spool != "" {
		return nil
	}
	cfg, err := l.station.load()
	if err != nil {
		return nil
	}
	t, err := catalog.New(cfg.Paths.Templates, &layout.ParseOptions{Fonts: layout.NewRenderer(nil).FontNames()}).Template(j.Template)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return fmt.Errorf("job %s: template %q: the station has no such template", j.ID, j.Template)
	case err != nil:
		return nil
	case t.NeedsPhoto() && len(photo) == 0:
		return fmt.Errorf("job %s: template %q shows the holder's photo; give one (--photo FILE, or photo = in the job file)", j.ID, j.Template)
	}
	return nil
}

// networkStatus reads the station's record of its forwarded permanent
// requests (a field office of a network), by job id; nil when the flags
// name a bare spool (--spool) or the station has no network.
func (l *spoolFlags) networkStatus() (map[string][]network.StatusEntry, error) {
	if *l.spool != "" {
		return nil, nil
	}
	cfg, err := l.station.load()
	if err != nil || cfg.Network == nil || cfg.Paths.State == "" {
		return nil, err
	}
	return network.ReadStatus(network.StateDir(cfg.Paths.State))
}
