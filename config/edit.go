package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SetCalibration records a printer's calibration offsets in the
// configuration file at path, as "cardd printers calibrate" does for a
// technician. Only the four offset values of that printer change: comments,
// order and every other line stay as written. The file must be valid before
// and after; it is replaced atomically (a temporary file renamed over it,
// keeping its permissions).
func SetCalibration(path, printerName string, cal Calibration) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("set calibration: %w", err)
	}
	out, err := setCalibrationText(path, data, printerName, cal)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, out); err != nil {
		return fmt.Errorf("set calibration of printer %s in %s: %w", printerName, path, err)
	}
	return nil
}

// calibrationKeys are the keys of the [printers.calibration] table, in
// the order they are written.
var calibrationKeys = [4]string{"front_x_mm", "front_y_mm", "back_x_mm", "back_y_mm"}

func (c Calibration) values() [4]float64 {
	return [4]float64{c.FrontXMM, c.FrontYMM, c.BackXMM, c.BackYMM}
}

// setCalibrationText returns the configuration text data with the
// calibration of printer printerName set to cal.
func setCalibrationText(name string, data []byte, printerName string, cal Calibration) ([]byte, error) {
	cfg, err := Parse(name, data)
	if err != nil {
		return nil, fmt.Errorf("set calibration: the configuration is not valid: %w", err)
	}
	idx := -1
	for i, p := range cfg.Printers {
		if p.Name == printerName {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("set calibration: %s has no printer %q", name, printerName)
	}
	prefix := fmt.Sprintf("printers[%d]", idx)
	table := prefix + ".calibration"
	lines := strings.Split(string(data), "\n")
	scan := scanTOML(string(data))
	vals := cal.values()

	inline := -1    // line of "calibration = { … }"
	header := -1    // line of the [printers.calibration] header
	dotted := -1    // last "calibration.KEY = …" line in the printer's table
	regionEnd := -1 // last line of the printer's tables before the next table
	found := map[string]bool{}
	for n, l := range scan {
		switch {
		case l.kind == lineKey && l.path == table:
			inline = n
		case l.kind == lineKey && strings.HasPrefix(l.path, table+"."):
			key := strings.TrimPrefix(l.path, table+".")
			for i, k := range calibrationKeys {
				if k == key {
					lines[n] = replaceValue(lines[n], formatMM(vals[i]))
					found[k] = true
				}
			}
			if l.table == prefix {
				dotted = n
			}
		case l.kind == lineHeader && l.path == table:
			header = n
		}
		inRegion := l.table == prefix || strings.HasPrefix(l.table, prefix+".")
		if s := strings.TrimSpace(lines[n]); inRegion && s != "" && s[0] != '#' {
			regionEnd = n
		}
	}
	if regionEnd < 0 {
		return nil, fmt.Errorf("set calibration: printer %q in %s is not written as a [[printers]] table; edit it by hand", printerName, name)
	}
	if inline >= 0 {
		var parts []string
		for i, k := range calibrationKeys {
			parts = append(parts, k+" = "+formatMM(vals[i]))
		}
		lines[inline] = replaceValue(lines[inline], "{ "+strings.Join(parts, ", ")+" }")
	} else {
		var add []string
		keyPrefix := ""
		at := header + 1
		switch {
		case header >= 0:
		case dotted >= 0:
			keyPrefix, at = "calibration.", dotted+1
		default:
			add = append(add, "[printers.calibration]")
			at = regionEnd + 1
		}
		for i, k := range calibrationKeys {
			if !found[k] {
				add = append(add, keyPrefix+k+" = "+formatMM(vals[i]))
			}
		}
		if len(add) > 0 {
			lines = append(lines[:at], append(add, lines[at:]...)...)
		}
	}
	out := []byte(strings.Join(lines, "\n"))

	// The edit must give exactly the new calibration and change nothing
	// else.
	after, err := Parse(name, out)
	if err != nil {
		return nil, fmt.Errorf("set calibration: %w", err)
	}
	if after.Printers[idx].Calibration != cal {
		return nil, fmt.Errorf("set calibration: %s: could not place the offsets of printer %q; edit it by hand", name, printerName)
	}
	after.Printers[idx].Calibration = cfg.Printers[idx].Calibration
	a, errA := Marshal(after)
	b, errB := Marshal(cfg)
	if errA != nil || errB != nil || string(a) != string(b) {
		return nil, fmt.Errorf("set calibration: %s: the edit would change more than the calibration of printer %q; edit it by hand", name, printerName)
	}
	return out, nil
}

// replaceValue replaces the value of a "key = value  # comment" line,
// keeping the key, the spacing before the value and a trailing comment
// (the values replaced are numbers or inline tables of numbers, so a '#'
// after the value starts a comment).
func replaceValue(line, value string) string {
	eq := strings.Index(line, "=")
	if eq < 0 {
		return line
	}
	rest := line[eq+1:]
	comment := ""
	if h := strings.Index(rest, "#"); h >= 0 {
		comment = " " + rest[h:]
	}
	return line[:eq+1] + " " + value + comment
}

// formatMM writes a millimetre value as a TOML float.
func formatMM(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory, synced, given path's permissions, renamed over it.
func writeFileAtomic(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
