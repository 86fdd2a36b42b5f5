package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cardd/cardd/spool/jobfile"
)

// Submit commits one job to the spool at root the way every producer
// should: it validates the job, writes a job directory (job.toml and the
// photo, if the job names one) under incoming/ with a name starting with
// ".", fsyncs the files and the directory, and renames the directory into
// incoming/ under its final name, which it returns. It needs no running
// daemon and only write access to incoming/.
//
// The directory is 0770 and its files 0640 (before umask), so a daemon of
// the same group can claim, read and later purge them.
//
// photo holds the photo's bytes when j.Photo is set; it is limited to
// jobfile.DefaultMaxPhotoBytes.
func Submit(root string, j *jobfile.Job, photo []byte) (string, error) {
	return submit(root, "", j, photo)
}

// SubmitAs is Submit with the job directory's final name in incoming/
// chosen by the caller (not starting with "."), for a producer that may
// submit the same job again after a crash: when incoming/name exists
// already it returns an error wrapping fs.ErrExist and writes nothing.
// (Once the daemon has claimed the directory the name is free again; the
// spool then refuses a second job with the same id as a duplicate.)
func SubmitAs(root, name string, j *jobfile.Job, photo []byte) error {
	if name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("spool: submit job %q: bad directory name %q", j.ID, name)
	}
	if _, err := os.Lstat(filepath.Join(root, dirIncoming, name)); err == nil {
		return fmt.Errorf("spool: submit job %q: incoming/%s: %w", j.ID, name, fs.ErrExist)
	}
	_, err := submit(root, name, j, photo)
	return err
}

func submit(root, final string, j *jobfile.Job, photo []byte) (string, error) {
	st, err := Stage(root, j, photo)
	if err != nil {
		return "", err
	}
	name, err := st.Commit(final)
	if err != nil {
		return "", err
	}
	if err := SyncIncoming(root); err != nil {
		return "", fmt.Errorf("spool: submit job %q: %w", j.ID, err)
	}
	return name, nil
}

// Staged is a job directory written and made durable under a hidden name
// in incoming/ (the daemon never claims names starting with "."), not yet
// submitted. Stage, Commit and SyncIncoming are Submit in steps, for a
// producer that prepares a job while it is still deciding whether to
// submit it (a central host writes a forwarded request while the hub
// confirms its claim) or that commits many jobs and fsyncs incoming/
// once for all of them.
type Staged struct {
	root   string
	id     string // the job's id, for errors
	tmp    string // the staged directory
	suffix string
}

// Stage validates j and writes its directory (job.toml and the photo, if
// the job names one) under a hidden name in root's incoming/, fsyncing
// the files and the directory. The job is not submitted until Commit; a
// staged directory left by a crash is removed by the daemon after a day.
func Stage(root string, j *jobfile.Job, photo []byte) (*Staged, error) {
	return StageFormat(root, jobfile.FormatTOML, j, photo)
}

// StageFormat is Stage with the job file written in format f: job.toml
// (TOML) or job.json (JSON, cheaper to write and to read for a job made
// by a program).
func StageFormat(root string, f jobfile.Format, j *jobfile.Job, photo []byte) (*Staged, error) {
	jobName := "job.toml"
	switch f {
	case jobfile.FormatTOML:
	case jobfile.FormatJSON:
		jobName = "job.json"
	default:
		return nil, fmt.Errorf("spool: submit job %q: unknown job file format %q", j.ID, f)
	}
	if j.File == "" {
		j.File = jobName
	}
	if err := j.Validate(); err != nil {
		return nil, fmt.Errorf("spool: submit: %w", err)
	}
	switch {
	case j.Photo != "" && photo == nil:
		return nil, fmt.Errorf("spool: submit job %q: the job names photo %q but no photo was given", j.ID, j.Photo)
	case j.Photo == "" && photo != nil:
		return nil, fmt.Errorf("spool: submit job %q: a photo was given but the job names none", j.ID)
	case len(photo) > jobfile.DefaultMaxPhotoBytes:
		return nil, fmt.Errorf("spool: submit job %q: photo: %w: %d bytes, limit %d", j.ID, jobfile.ErrTooLarge, len(photo), jobfile.DefaultMaxPhotoBytes)
	case j.Photo == "job.toml" || j.Photo == "job.json":
		return nil, fmt.Errorf("spool: submit job %q: photo may not be named %s", j.ID, j.Photo)
	}
	in := filepath.Join(root, dirIncoming)
	suffix := randHex(4)
	tmp := filepath.Join(in, ".submit-"+j.ID+"-"+suffix)
	if err := os.Mkdir(tmp, incomingPerm); err != nil {
		return nil, fmt.Errorf("spool: submit job %q: %w", j.ID, err)
	}
	fail := func(err error) (*Staged, error) {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("spool: submit job %q: %w", j.ID, err)
	}
	// Whatever the submitter's umask: the daemon (same group) must be
	// able to remove the job's files when it purges them.
	if err := os.Chmod(tmp, incomingPerm); err != nil {
		return fail(err)
	}
	var buf bytes.Buffer
	if err := j.Encode(&buf, f); err != nil {
		return fail(err)
	}
	// Both files are written before either is fsynced: the first fsync
	// then commits the directory's new entries and both inodes in one
	// journal transaction, so the second and the directory's own fsync
	// have less left to do.
	names, contents := []string{jobName}, [][]byte{buf.Bytes()}
	if j.Photo != "" {
		names, contents = append(names, j.Photo), append(contents, photo)
	}
	files := make([]*os.File, 0, len(names))
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for i, name := range names {
		f, err := os.OpenFile(filepath.Join(tmp, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, reasonPerm)
		if err == nil {
			files = append(files, f)
			_, err = f.Write(contents[i])
		}
		if err != nil {
			closeAll()
			return fail(err)
		}
	}
	for i := len(files) - 1; i >= 0; i-- {
		if err := files[i].Sync(); err != nil {
			closeAll()
			return fail(err)
		}
	}
	var cerr error
	for _, f := range files {
		cerr = errors.Join(cerr, f.Close())
	}
	if cerr != nil {
		return fail(cerr)
	}
	if err := syncDirs(tmp); err != nil {
		return fail(err)
	}
	return &Staged{root: root, id: j.ID, tmp: tmp, suffix: suffix}, nil
}

// Commit renames the staged directory into incoming/ under name (the
// job id and a random suffix when name is ""; a name may not start with
// "."), and returns the name. The job is durable once incoming/ is
// fsynced (SyncIncoming), which several commits may share. When
// incoming/name exists already it returns an error wrapping fs.ErrExist
// and removes the staged directory.
func (s *Staged) Commit(name string) (string, error) {
	if name == "" {
		name = s.id + "-" + s.suffix
	}
	if strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) {
		s.Abort()
		return "", fmt.Errorf("spool: submit job %q: bad directory name %q", s.id, name)
	}
	dst := filepath.Join(s.root, dirIncoming, name)
	if _, err := os.Lstat(dst); err == nil {
		s.Abort()
		return "", fmt.Errorf("spool: submit job %q: incoming/%s: %w", s.id, name, fs.ErrExist)
	}
	// rename(2) refuses to replace a directory that has files (ENOTEMPTY,
	// which errors.Is reports as fs.ErrExist).
	if err := os.Rename(s.tmp, dst); err != nil {
		s.Abort()
		return "", fmt.Errorf("spool: submit job %q: incoming/%s: %w", s.id, name, err)
	}
	return name, nil
}

// Abort removes the staged directory: the job is not submitted.
func (s *Staged) Abort() {
	os.RemoveAll(s.tmp)
}

// SyncIncoming fsyncs root's incoming/ directory, making the commits
// before it durable.
func SyncIncoming(root string) error {
	return syncDirs(filepath.Join(root, dirIncoming))
}

// writeSynced creates path (which must not exist), writes data and fsyncs.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, reasonPerm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
