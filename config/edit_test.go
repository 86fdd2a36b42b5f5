package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetCalibrationText(t *testing.T) {
	cal := Calibration{FrontXMM: 0.25, FrontYMM: -1, BackXMM: 0, BackYMM: 1.5}
	head := "# station\n[station]\nid = \"s1\" # the id\n\n"
	tests := []struct {
		name    string
		printer string
		in      string
		want    string
	}{
		{
			name:    "table present",
			printer: "p1",
			in: head + "[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\nconnection = \"usb\"\n" +
				"[printers.calibration]\nfront_x_mm = 0.1   # measured 2026-11-02\nback_y_mm=2\n\n[log]\nlevel = \"debug\"\n",
			want: head + "[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\nconnection = \"usb\"\n" +
				"[printers.calibration]\nfront_y_mm = -1.0\nback_x_mm = 0.0\nfront_x_mm = 0.25 # measured 2026-11-02\nback_y_mm= 1.5\n\n[log]\nlevel = \"debug\"\n",
		},
		{
			name:    "no table, second printer, subtables and comments kept",
			printer: "p2",
			in: head + "[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\nconnection = \"usb\"\n\n" +
				"[[printers]]\nname = \"p2\"\ndriver = \"magicard\"\nconnection = \"emulator\"\nfront_panels = [\n  \"color\",\n  \"k\",\n]\n" +
				"[printers.emulator]\nspeed = 0.0\n\n# logging\n[log]\nlevel = \"debug\"\n",
			want: head + "[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\nconnection = \"usb\"\n\n" +
				"[[printers]]\nname = \"p2\"\ndriver = \"magicard\"\nconnection = \"emulator\"\nfront_panels = [\n  \"color\",\n  \"k\",\n]\n" +
				"[printers.emulator]\nspeed = 0.0\n[printers.calibration]\nfront_x_mm = 0.25\nfront_y_mm = -1.0\nback_x_mm = 0.0\nback_y_mm = 1.5\n\n# logging\n[log]\nlevel = \"debug\"\n",
		},
		{
			name:    "last table of the file",
			printer: "p1",
			in:      head + "[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\nconnection = \"usb\"\n",
			want: head + "[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\nconnection = \"usb\"\n" +
				"[printers.calibration]\nfront_x_mm = 0.25\nfront_y_mm = -1.0\nback_x_mm = 0.0\nback_y_mm = 1.5\n",
		},
		{
			name:    "dotted keys",
			printer: "p1",
			in:      head + "[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\ncalibration.front_x_mm = 3\nconnection = \"usb\"\n",
			want: head + "[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\ncalibration.front_x_mm = 0.25\n" +
				"calibration.front_y_mm = -1.0\ncalibration.back_x_mm = 0.0\ncalibration.back_y_mm = 1.5\nconnection = \"usb\"\n",
		},
		{
			name:    "inline table",
			printer: "p1",
			in:      head + "[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\nconnection = \"usb\"\ncalibration = { front_x_mm = 1 } # old\n",
			want: head + "[[printers]]\nname = \"p1\"\ndriver = \"evolis\"\nconnection = \"usb\"\n" +
				"calibration = { front_x_mm = 0.25, front_y_mm = -1.0, back_x_mm = 0.0, back_y_mm = 1.5 } # old\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := setCalibrationText("s.toml", []byte(tt.in), tt.printer, cal)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", out, tt.want)
			}
		})
	}
}

func TestSetCalibrationTextErrors(t *testing.T) {
	valid := minimal
	tests := []struct {
		name, in, printer string
		cal               Calibration
		wantErr           string
	}{
		{"invalid file", "[station]\nid = 1\n", "p1", Calibration{}, "not valid"},
		{"no such printer", valid, "p9", Calibration{}, `no printer "p9"`},
		{"offset out of range", valid, "p1", Calibration{FrontXMM: 9}, "beyond ±5 mm"},
		{"inline printers", "printers = [{ name = \"p1\", driver = \"evolis\", connection = \"usb\" }]\n[station]\nid = \"s\"\n", "p1", Calibration{}, "edit it by hand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := setCalibrationText("s.toml", []byte(tt.in), tt.printer, tt.cal)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSetCalibrationFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "station.toml")
	if err := os.WriteFile(path, []byte(minimal), 0o640); err != nil {
		t.Fatal(err)
	}
	cal := Calibration{FrontXMM: 0.5, BackYMM: -0.25}
	if err := SetCalibration(path, "p1", cal); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Printers[0].Calibration != cal {
		t.Errorf("calibration = %+v, want %+v", c.Printers[0].Calibration, cal)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode after the edit = %v, %v; want 0640", st.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	before, _ := os.ReadFile(path)
	if err := SetCalibration(path, "nope", cal); err == nil {
		t.Error("SetCalibration of an unknown printer succeeded")
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("a failed SetCalibration changed the file")
	}
	if err := SetCalibration(filepath.Join(dir, "missing.toml"), "p1", cal); err == nil {
		t.Error("SetCalibration of a missing file succeeded")
	}
}

func FuzzSetCalibration(f *testing.F) {
	f.Add([]byte(minimal), 0.5, -1.0)
	f.Add([]byte(minimal+"calibration = { back_x_mm = 2 }\n"), 0.0, 4.5)
	f.Add([]byte(minimal+"[printers.calibration]\nfront_y_mm = 1\n[printers.emulator]\n"), 1.0, 1.0)
	f.Fuzz(func(t *testing.T, data []byte, x, y float64) {
		cal := Calibration{FrontXMM: x, BackYMM: y}
		out, err := setCalibrationText("s.toml", data, "p1", cal)
		if err != nil {
			return
		}
		c, err := Parse("s.toml", out)
		if err != nil {
			t.Fatalf("edited file does not parse: %v\n%s", err, out)
		}
		p, _ := c.Printer("p1")
		if p.Calibration != cal {
			t.Fatalf("calibration = %+v, want %+v", p.Calibration, cal)
		}
	})
}
