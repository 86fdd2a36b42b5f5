package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cardd/cardd/spool"
)

// TestBatchCommand: "cardd batch list|show|report|close" on a permanent
// spool, text and JSON, agreeing with "cardd jobs batches|batch".
func TestBatchCommand(t *testing.T) {
	root, s := batchedSpool(t, "B")

	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"list", []string{"list"}, exitOK, []string{"B000001  done", "B000002  open"}},
		{"list json", []string{"list", "--json"}, exitOK, []string{`"id": "B000001"`, `"state": "done"`}},
		{"show", []string{"show", "B000001"}, exitOK, []string{"batch B000001: done", "jobs:     2", "B-1", "B-2", "printed", "completed"}},
		{"show open", []string{"show", "B000002"}, exitOK, []string{"batch B000002: open", "B-3"}},
		{"report", []string{"report", "B000001"}, exitOK, []string{"printed 2, spoiled 0", "blanks: expected 2, used 2"}},
		{"report json", []string{"report", "--json", "B000001"}, exitOK, []string{`"printed": 2`, `"manifest"`}},
		{"unknown batch", []string{"show", "B000009"}, exitFailure, nil},
		{"report unknown batch", []string{"report", "B000009"}, exitFailure, nil},
		{"no batch", []string{"show"}, exitUsage, nil},
		{"bad id", []string{"report", "../x"}, exitUsage, nil},
		{"no subcommand", nil, exitUsage, nil},
		{"unknown subcommand", []string{"shred", "B000001"}, exitUsage, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"batch"}, tc.args...)
			if len(tc.args) > 0 {
				args = append([]string{"batch", tc.args[0], "--spool", root}, tc.args[1:]...)
			}
			code, out, errOut := runCardd(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}

	// show --json is the batch and its manifest.
	code, out, _ := runCardd(t, "batch", "show", "--spool", root, "--json", "B000001")
	var shown struct {
		Batch    spool.Batch           `json:"batch"`
		Manifest []spool.ManifestEntry `json:"manifest"`
	}
	if err := json.Unmarshal([]byte(out), &shown); code != exitOK || err != nil {
		t.Fatalf("batch show --json: %d %v\n%s", code, err, out)
	}
	if shown.Batch.ID != "B000001" || len(shown.Manifest) != 2 || shown.Manifest[0].Serial == "" {
		t.Errorf("batch show --json: %+v", shown)
	}
	// The same report as "cardd jobs batch", and the same list as "cardd jobs batches".
	for _, pair := range [][2][]string{
		{{"batch", "report", "--spool", root, "B000001"}, {"jobs", "batch", "--spool", root, "B000001"}},
		{{"batch", "report", "--spool", root, "--json", "B000002"}, {"jobs", "batch", "--spool", root, "--json", "B000002"}},
		{{"batch", "list", "--spool", root}, {"jobs", "batches", "--spool", root}},
	} {
		_, a, _ := runCardd(t, pair[0]...)
		_, b, _ := runCardd(t, pair[1]...)
		if a != b || a == "" {
			t.Errorf("%v and %v differ:\n%s\n---\n%s", pair[0], pair[1], a, b)
		}
	}

	// close goes through the daemon.
	stopControl := serveControl(s)
	code, out, errOut := runCardd(t, "batch", "close", "--spool", root, "B000002")
	stopControl()
	if code != exitOK || !strings.Contains(out, "batch B000002 closed") {
		t.Fatalf("batch close: %d %q %q", code, out, errOut)
	}
	process(t, s)
	if code, out, _ := runCardd(t, "batch", "report", "--spool", root, "B000002"); code != exitOK || !strings.Contains(out, "printed 1") {
		t.Errorf("B000002 after close: %d\n%s", code, out)
	}
}
