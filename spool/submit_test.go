package spool

import (
	"bytes"
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
