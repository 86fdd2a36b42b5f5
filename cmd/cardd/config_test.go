package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/cardd/cardd/config"
)

// runCardd runs the cardd command line in-process and returns its exit code
// and output.
func runCardd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const validStation = `[station]
id = "office-7"
mode = "temporary"

[[printers]]
name = "desk"
driver = "evolis"
connection = "usb:0f49:1234:EV001"
duplex = true

[security]
serial_station = "OF7"
`

// badStation has three problems on lines 2, 7 and 9.
const badStation = `[station]
id = "office 7"
mode = "temporary"

[[printers]]
name = "desk"
driver = "zebra"
connection = "usb"
resolution = 450
`

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.toml", validStation)
	bad := writeFile(t, dir, "bad.toml", badStation)
	urn := writeFile(t, dir, "urn.toml", strings.Replace(validStation, "[security]\n", "[security]\nissuer = \"urn:example:issuer\"\n", 1))
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{
			name:       "valid file",
			args:       []string{"config", "check", good},
			wantCode:   exitOK,
			wantStdout: []string{"# Effective configuration of " + good + ": valid.", `id = "office-7"`, `spool = "` + filepath.Join(dir, "spool") + `"`},
		},
		{
			name:       "embedded default",
			args:       []string{"config", "check", "--work", filepath.Join(dir, "work")},
			wantCode:   exitOK,
			wantStdout: []string{"embedded default.toml", `connection = "emulator"`, `spool = "` + filepath.Join(dir, "work", "spool") + `"`},
		},
		{
			name:       "flags after the file",
			args:       []string{"config", "check", good, "--work", filepath.Join(dir, "work")},
			wantCode:   exitOK,
			wantStdout: []string{"# Effective configuration of " + good + ": valid."},
		},
		{
			name:     "every problem listed",
			args:     []string{"config", "check", bad},
			wantCode: exitFailure,
			wantStderr: []string{
				bad + ":2: station.id: \"office 7\" must be",
				bad + ":7: printers[0].driver: \"zebra\" is not one of evolis, magicard, ipp",
				bad + ":9: printers[0].resolution: 450 is not 300 or 600",
				bad + ": 3 problems",
			},
		},
		{
			name:       "URN issuer warned about",
			args:       []string{"config", "check", urn},
			wantCode:   exitOK,
			wantStdout: []string{"valid."},
			wantStderr: []string{urn + ": warning: security.issuer: \"urn:example:issuer\" is not an https:// URI"},
		},
		{
			name:       "missing file",
			args:       []string{"config", "check", filepath.Join(dir, "nope.toml")},
			wantCode:   exitConfig,
			wantStderr: []string{"nope.toml: no such file"},
		},
		{name: "two files", args: []string{"config", "check", good, bad}, wantCode: exitUsage, wantStderr: []string{"at most one FILE"}},
		{name: "bad flag", args: []string{"config", "check", "-nope"}, wantCode: exitUsage},
		{name: "check help", args: []string{"config", "check", "-h"}, wantCode: exitOK, wantStderr: []string{"Usage: cardd config check", "-work DIR"}},
		{name: "no subcommand", args: []string{"config"}, wantCode: exitUsage, wantStderr: []string{"check [FILE]", "missing subcommand"}},
		{name: "config help", args: []string{"config", "-h"}, wantCode: exitOK, wantStderr: []string{"Subcommands:"}},
		{name: "unknown subcommand", args: []string{"config", "lint"}, wantCode: exitUsage, wantStderr: []string{`unknown config subcommand "lint"`}},
		{name: "default", args: []string{"config", "default"}, wantCode: exitOK, wantStdout: []string{"# cardd — the embedded default configuration.", "[[printers]]"}},
		{name: "default with args", args: []string{"config", "default", "x"}, wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCardd(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.wantCode != exitOK && stdout != "" {
				t.Errorf("failed command wrote to stdout:\n%s", stdout)
			}
		})
	}
}

// TestConfigCheckOutputParses checks that the printed effective config is
// itself a valid configuration equal to the one checked.
func TestConfigCheckOutputParses(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.toml", validStation)
	code, stdout, stderr := runCardd(t, "config", "check", good)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, err := config.Load(good)
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.Parse(filepath.Join(dir, "effective.toml"), []byte(stdout))
	if err != nil {
		t.Fatalf("effective config does not parse: %v\n%s", err, stdout)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("effective config differs from the checked one:\n got %+v\nwant %+v", got, want)
	}
}

func TestConfigDefaultIsEmbedded(t *testing.T) {
	code, stdout, _ := runCardd(t, "config", "default")
	if code != exitOK || stdout != string(config.EmbeddedTOML()) {
		t.Errorf("config default: exit %d, output differs from the embedded default", code)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg, err := loadConfig("", dir)
	if err != nil || cfg.Paths.Spool != filepath.Join(dir, "spool") {
		t.Errorf("loadConfig(embedded) = %+v, %v", cfg, err)
	}
	_, err = loadConfig(writeFile(t, dir, "bad.toml", badStation), "")
	var ce configError
	var problems *config.Error
	if !errorsAs(err, &ce) || !errorsAs(err, &problems) || len(problems.Problems) != 3 {
		t.Errorf("loadConfig(bad) = %v, want a configError wrapping 3 problems", err)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := runCardd(t, "version")
	if code != exitOK || !strings.HasPrefix(stdout, "cardd ") || !strings.Contains(stdout, "\ngo go1.") {
		t.Errorf("version: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if code, _, _ := runCardd(t, "version", "extra"); code != exitUsage {
		t.Errorf("version extra: exit %d, want %d", code, exitUsage)
	}
}

func TestWriteVersion(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want []string
	}{
		{"no build info", nil, false, []string{"cardd unknown\n", "go go1."}},
		{
			name: "release",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			ok:   true,
			want: []string{"cardd v1.2.3\ngo go1.26.8 "},
		},
		{
			name: "vcs",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "0123456789abcdef0123"},
				{Key: "vcs.time", Value: "2026-11-27T10:00:00Z"},
				{Key: "vcs.modified", Value: "true"},
			}},
			ok:   true,
			want: []string{"cardd (devel)\nrevision 0123456789ab (modified) 2026-11-27T10:00:00Z\ngo go1.26.8 "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeVersion(&b, tt.info, tt.ok)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
