package spool

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/spool/jobfile"
)

func TestSubmit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	photo := pngPhoto(t, 4, 4)
	good := func() *jobfile.Job {
		return &jobfile.Job{ID: "S-1", Template: "t", Photo: "p.png", Fields: map[string]string{"surname": "Ng"}}
	}
	tests := []struct {
		name  string
		mod   func(j *jobfile.Job)
		photo []byte
		want  string // "" success
	}{
		{"good", nil, photo, ""},
		{"invalid id", func(j *jobfile.Job) { j.ID = "../x" }, photo, "field id"},
		{"photo named but missing", nil, nil, "no photo was given"},
		{"photo without name", func(j *jobfile.Job) { j.Photo = "" }, photo, "names none"},
		{"photo too large", nil, make([]byte, jobfile.DefaultMaxPhotoBytes+1), "too large"},
		{"photo escapes", func(j *jobfile.Job) { j.Photo = "../p.png" }, photo, "path escapes"},
	}
	for _, tc := range tests {
		j := good()
		if tc.mod != nil {
			tc.mod(j)
		}
		name, err := Submit(e.root, j, tc.photo)
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		dir := filepath.Join(e.root, dirIncoming, name)
		back, err := jobfile.Load(filepath.Join(dir, "job.toml"))
		if err != nil || back.ID != "S-1" || back.Fields["surname"] != "Ng" {
			t.Errorf("job file reads back as %+v, %v", back, err)
		}
		if got, err := back.ReadPhoto(dir, 1<<20); err != nil || !bytes.Equal(got, photo) {
			t.Errorf("photo reads back %d bytes, %v", len(got), err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(e.root, dirIncoming))
	if len(ents) != 1 {
		t.Errorf("incoming holds %v; failed submits must leave nothing", ents)
	}
	if _, err := Submit(filepath.Join(t.TempDir(), "none"), good(), photo); err == nil {
		t.Error("Submit into a missing spool succeeded")
	}
}

func TestFSWatcher(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, err := NewFSWatcher(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.Mkdir(filepath.Join(dir, "job"), 0o700); err != nil {
		t.Fatal(err)
	}
	testwait.Recv(t, "an event for a new directory", w.Events())
	if _, err := NewFSWatcher(filepath.Join(dir, "missing")); err == nil {
		t.Error("watching a missing directory succeeded")
	}
}

// TestStageCommit: a staged job is invisible to the daemon until Commit,
// Abort leaves nothing, and a commit under a name in use is refused with
// fs.ErrExist without touching the job there.
func TestStageCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	photo := pngPhoto(t, 4, 4)
	job := func(id string) *jobfile.Job {
		return &jobfile.Job{ID: id, Template: "t", Photo: "p.png", Fields: map[string]string{"surname": "Ng"}}
	}
	visible := func() []string {
		ents, err := os.ReadDir(filepath.Join(e.root, dirIncoming))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, en := range ents {
			if !strings.HasPrefix(en.Name(), ".") {
				names = append(names, en.Name())
			}
		}
		return names
	}
	all := func() int {
		ents, _ := os.ReadDir(filepath.Join(e.root, dirIncoming))
		return len(ents)
	}

	st, err := Stage(e.root, job("S-1"), photo)
	if err != nil {
		t.Fatal(err)
	}
	if v := visible(); len(v) != 0 {
		t.Fatalf("staged job visible in incoming/: %v", v)
	}
	claimed, err := e.sp.Claim(t.Context())
	if err != nil || len(claimed) != 0 {
		t.Fatalf("the daemon claimed a staged job: %v, %v", claimed, err)
	}
	name, err := st.Commit("net-S-1")
	if err != nil || name != "net-S-1" {
		t.Fatalf("Commit = %q, %v", name, err)
	}
	if err := SyncIncoming(e.root); err != nil {
		t.Fatal(err)
	}
	if v := visible(); len(v) != 1 || v[0] != "net-S-1" || all() != 1 {
		t.Fatalf("incoming/ after Commit: %v (%d entries)", v, all())
	}
	back, err := jobfile.Load(filepath.Join(e.root, dirIncoming, "net-S-1", "job.toml"))
	if err != nil || back.ID != "S-1" {
		t.Fatalf("committed job reads back as %+v, %v", back, err)
	}

	// The same name again: refused, the first job kept, nothing left over.
	st, err = Stage(e.root, job("S-2"), photo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit("net-S-1"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Commit over a committed job: %v, want fs.ErrExist", err)
	}
	if back, err := jobfile.Load(filepath.Join(e.root, dirIncoming, "net-S-1", "job.toml")); err != nil || back.ID != "S-1" {
		t.Fatalf("the job in place was changed: %+v, %v", back, err)
	}
	if all() != 1 {
		t.Fatalf("a refused commit left %d entries in incoming/, want 1", all())
	}

	// Abort leaves nothing; a bad name is refused and leaves nothing.
	st, err = Stage(e.root, job("S-3"), photo)
	if err != nil {
		t.Fatal(err)
	}
	st.Abort()
	if all() != 1 {
		t.Fatalf("Abort left %d entries in incoming/, want 1", all())
	}
	st, err = Stage(e.root, job("S-4"), photo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(".hidden"); err == nil {
		t.Fatal("Commit under a hidden name succeeded")
	}
	if all() != 1 {
		t.Fatalf("a refused name left %d entries in incoming/, want 1", all())
	}
	if _, err := Stage(e.root, job("../x"), photo); err == nil {
		t.Fatal("Stage of an invalid job succeeded")
	}

	// A job file in JSON: job.json, the spool's other job file name.
	st, err = StageFormat(e.root, jobfile.FormatJSON, job("S-5"), photo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit("net-S-5"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.root, dirIncoming, "net-S-5")
	path, err := findJobFile(dir)
	if err != nil || filepath.Base(path) != "job.json" {
		t.Fatalf("job file of a JSON job: %q, %v", path, err)
	}
	if back, err := jobfile.Load(path); err != nil || back.ID != "S-5" || back.Photo == "" {
		t.Fatalf("JSON job reads back as %+v, %v", back, err)
	}
	if p, err := os.ReadFile(filepath.Join(dir, job("S-5").Photo)); err != nil || !bytes.Equal(p, photo) {
		t.Fatalf("photo of the JSON job: %d bytes, %v", len(p), err)
	}
	bad := job("S-6")
	bad.Photo = "job.json"
	if _, err := Stage(e.root, bad, photo); err == nil || !strings.Contains(err.Error(), "job.json") {
		t.Fatalf("a photo named job.json: %v", err)
	}
}
