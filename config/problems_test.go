package config

import "testing"

func TestIndexLines(t *testing.T) {
	src := `# comment
[station]
id = "x"   # trailing
"quoted.key" = 1
a.b = 2
text = """
x = 1
[fake]
"""
after = 3

[[printers]]
name = "p0"
[printers.emulator]
speed = 1.0
[[printers.emulator.faults]]
kind = "card-jam"

[[printers]]
name = "p1"
[[printers.emulator.faults]]
kind = "jam"
[[printers.emulator.faults]]
kind = "x=y"
`
	idx := indexLines(src)
	tests := []struct {
		path string
		want int
	}{
		{"station", 2},
		{"station.id", 3},
		{`station."quoted.key"`, 4},
		{"station.a", 5},
		{"station.a.b", 5},
		{"station.text", 6},
		{"station.after", 10},
		{"station.x", 2}, // inside the multi-line string: not a key
		{"printers", 12},
		{"printers[0]", 12},
		{"printers[0].name", 13},
		{"printers[0].emulator.speed", 15},
		{"printers[0].emulator.faults[0].kind", 17},
		{"printers[1].name", 20},
		{"printers[1].emulator.faults[0].kind", 22},
		{"printers[1].emulator.faults[1].kind", 24},
		{"printers[1].resolution", 19},
		{"printers[7].name", 12},
		{"nosuch.key", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := idx.lookup(tt.path); got != tt.want {
			t.Errorf("lookup(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
}

func TestProblemError(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "s.toml", Line: 14, Path: "printers[1].resolution", Msg: "450 is not 300 or 600"}, "s.toml:14: printers[1].resolution: 450 is not 300 or 600"},
		{Problem{File: "s.toml", Path: "printers", Msg: "required"}, "s.toml: printers: required"},
		{Problem{File: "s.toml", Line: 2, Msg: "TOML syntax: x"}, "s.toml:2: TOML syntax: x"},
	}
	for _, tt := range tests {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
