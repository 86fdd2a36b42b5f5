//go:build unix

package photogate

import (
	"crypto/sha256"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cardd/cardd/layout/portrait"
)

// TestKeptReportUntrusted: the job directory comes from a producer. A
// report planted there is not taken for the check of other bytes, and a
// FIFO in its place does not block the reader.
func TestKeptReportUntrusted(t *testing.T) {
	dir := t.TempDir()
	face := portrait.Face{Left: portrait.Point{X: 10, Y: 10}, Right: portrait.Point{X: 30, Y: 10}, Eyes: true}
	if err := writeReport(filepath.Join(dir, ReportFile), sha256.Sum256([]byte("photo A")), &portrait.Report{Faces: 1, Face: &face}); err != nil {
		t.Fatal(err)
	}
	if f := KeptFace(dir, sha256.Sum256([]byte("photo A"))); f == nil || *f != face {
		t.Errorf("KeptFace of the checked bytes = %v", f)
	}
	if f := KeptFace(dir, sha256.Sum256([]byte("photo B"))); f != nil {
		t.Errorf("KeptFace of other bytes = %v, want nil", f)
	}
	fifo := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifo, ReportFile), 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if _, err := ReadReport(fifo); err == nil {
		t.Error("a FIFO read as a report")
	}
	if f := KeptFace(fifo, sha256.Sum256([]byte("photo A"))); f != nil {
		t.Errorf("KeptFace from a FIFO = %v", f)
	}
}

// TestWriteReportOverPlantedFIFO: a FIFO a producer left under the
// report's name (or under the temporary name earlier versions used) does
// not block the gate.
func TestWriteReportOverPlantedFIFO(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ReportFile)
	if err := syscall.Mkfifo(path+".tmp", 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(path, sha256.Sum256([]byte("p")), &portrait.Report{Faces: 0}); err != nil {
		t.Fatal(err)
	}
	if rep, err := ReadReport(dir); err != nil || rep.Faces != 0 {
		t.Errorf("report after writing over FIFOs: %+v, %v", rep, err)
	}
}
