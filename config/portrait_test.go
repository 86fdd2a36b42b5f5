package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestPortrait(t *testing.T) {
	c, err := Parse(filepath.Join(t.TempDir(), "s.toml"), []byte(minimal+"\n[portrait]\ncascades = \"casc\"\ngate = \"warn\"\n[portrait.fail]\nroll = 12\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(c.Portrait.Cascades) || filepath.Base(c.Portrait.Cascades) != "casc" {
		t.Errorf("cascades %q not resolved against the file's directory", c.Portrait.Cascades)
	}
	if c.Portrait.Gate != GateWarn || c.Portrait.Fail.Roll != 12 || c.Portrait.Warn.Roll != DefaultPortrait().Warn.Roll {
		t.Errorf("portrait = %+v", c.Portrait)
	}
	bad := []struct{ text, want string }{
		{"[portrait]\ngate = \"strict\"\n", `portrait.gate: "strict" is not one of hold, warn, off`},
		{"[portrait.fail]\neye_distance = 90\n", "portrait.fail.eye_distance: 90 is above the warn limit 60"},
		{"[portrait.fail]\nroll = 3\n", "portrait.fail.roll: 3 is below the warn limit 5"},
		{"[portrait.warn]\nclipped = 2\n", "portrait.warn.clipped: 2 is not between 0 and 1"},
	}
	for _, b := range bad {
		_, err := Parse("s.toml", []byte(minimal+"\n"+b.text))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: error %v, want %q", b.text, err, b.want)
		}
	}
}
