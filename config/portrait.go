package config

import "math"

// Portrait configures face detection and the photo quality gate.
type Portrait struct {
	// Cascades is the directory holding pigo's trained face and pupil
	// cascades (files facefinder and puploc; the Debian package installs
	// them). Without them the station composes and prints without face
	// detection: fit = "face" falls back to a centred crop and the gate
	// does not run, which the daemon's log and cardd doctor report.
	Cascades string `toml:"cascades"`
	// Gate is what a photo that fails a check does to its job: "hold"
	// holds the job before a serial is allocated, for an operator to
	// cancel or release with a reason; "warn" logs it and prints; "off"
	// does not check photos.
	Gate string `toml:"gate"`
	// Warn and Fail are the checks' limits.
	Warn PortraitLimits `toml:"warn"`
	Fail PortraitLimits `toml:"fail"`
}

// The gate settings.
const (
	GateHold = "hold"
	GateWarn = "warn"
	GateOff  = "off"
)

// PortraitLimits are the limits of one level (warn or fail) of the photo
// checks. For the upper limits (Roll, Clipped, Bright, Background) 0 turns
// the check off at that level.
type PortraitLimits struct {
	// EyeDistance is the least distance between the pupils, in the
	// photo's pixels.
	EyeDistance float64 `toml:"eye_distance"`
	// Roll is the largest tilt of the eye line, in degrees.
	Roll float64 `toml:"roll"`
	// Sharpness is the least variance of the Laplacian on the face
	// (measured with the eyes about 32 pixels apart).
	Sharpness float64 `toml:"sharpness"`
	// Clipped is the largest share (0–1) of the face clipped black or
	// white.
	Clipped float64 `toml:"clipped"`
	// Dark is the least mean brightness (0–255) of the face.
	Dark float64 `toml:"dark"`
	// Bright is the largest mean brightness of the face.
	Bright float64 `toml:"bright"`
	// Background is the largest standard deviation of the brightness
	// beside and above the head.
	Background float64 `toml:"background"`
}

// DefaultPortrait returns the portrait defaults.
func DefaultPortrait() Portrait {
	return Portrait{
		Cascades: "/usr/share/cardd/cascades",
		Gate:     GateHold,
		Warn:     PortraitLimits{EyeDistance: 60, Roll: 5, Sharpness: 60, Clipped: 0.05, Dark: 80, Bright: 215, Background: 25},
		Fail:     PortraitLimits{EyeDistance: 30, Roll: 10, Sharpness: 25, Clipped: 0.25, Dark: 50, Bright: 240, Background: 0},
	}
}

func (p *Portrait) validate(v *validator, path string) {
	v.oneOf(path+".gate", p.Gate, GateHold, GateWarn, GateOff)
	for _, lv := range []struct {
		name string
		l    PortraitLimits
	}{{"warn", p.Warn}, {"fail", p.Fail}} {
		lp := path + "." + lv.name
		for _, f := range []struct {
			key   string
			x, hi float64
		}{
			{"eye_distance", lv.l.EyeDistance, 10000}, {"roll", lv.l.Roll, 90}, {"sharpness", lv.l.Sharpness, 1e6},
			{"clipped", lv.l.Clipped, 1}, {"dark", lv.l.Dark, 255}, {"bright", lv.l.Bright, 255}, {"background", lv.l.Background, 255},
		} {
			if math.IsNaN(f.x) || f.x < 0 || f.x > f.hi {
				v.add(lp+"."+f.key, "%v is not between 0 and %v", f.x, f.hi)
			}
		}
	}
	for _, f := range []struct {
		key        string
		warn, fail float64
		lower      bool // a least value: fail must not exceed warn
	}{
		{"eye_distance", p.Warn.EyeDistance, p.Fail.EyeDistance, true},
		{"sharpness", p.Warn.Sharpness, p.Fail.Sharpness, true},
		{"dark", p.Warn.Dark, p.Fail.Dark, true},
		{"roll", p.Warn.Roll, p.Fail.Roll, false},
		{"clipped", p.Warn.Clipped, p.Fail.Clipped, false},
		{"bright", p.Warn.Bright, p.Fail.Bright, false},
		{"background", p.Warn.Background, p.Fail.Background, false},
	} {
		switch {
		case f.lower && f.fail > f.warn:
			v.add(path+".fail."+f.key, "%v is above the warn limit %v (a photo would fail before it warns)", f.fail, f.warn)
		case !f.lower && f.fail > 0 && f.warn > 0 && f.fail < f.warn:
			v.add(path+".fail."+f.key, "%v is below the warn limit %v (a photo would fail before it warns)", f.fail, f.warn)
		}
	}
}
